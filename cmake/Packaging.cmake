# Installation and the Debian package (issue 5).
#
# `cmake --install BUILD` installs, all in the component "metadatafs":
#   <prefix>/bin/metadatafs
#   <prefix>/sbin/mount.fuse.metadatafs -> /sbin/mount.fuse3   (mount(8) helper)
#   <prefix>/share/man/man8/metadatafs.8.gz, mount.fuse.metadatafs.8.gz -> metadatafs.8.gz
#   <prefix>/lib/systemd/system/metadatafs.service
#   <prefix>/share/metadatafs/service.conf                      (the unit's defaults)
#   <prefix>/sbin/metadatafs-lock, <prefix>/lib/systemd/system/metadatafs-lock.service
#                                          (opt-in: only metadatafs may reach the service)
#   <sysconfdir>/metadatafs.conf                               (/etc with prefix /usr)
#   <prefix>/share/doc/metadatafs/copyright, changelog.gz
# Nothing else: the emulator, tests and benchmarks have no install rules, and the package
# is built from this one component so that a later install() elsewhere cannot leak into it.
#
# The unit names the binary and the config file by absolute path, and those depend on the
# prefix chosen at install time (`cmake --install --prefix`, or /usr when CPack builds the
# .deb), not at configure time. So the unit is written while installing, by
# packaging/install-configured.cmake.
include(GNUInstallDirs)

set(MDFS_PACKAGE_MAINTAINER
    "metadatafs maintainers <maintainers@users.noreply.r-seed-bc77a2ec.example>"
    CACHE STRING "Maintainer field of the Debian package")
set(mdfs_pkg_src ${PROJECT_SOURCE_DIR}/packaging)
set(mdfs_pkg_out ${PROJECT_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${mdfs_pkg_out})

install(TARGETS metadatafs RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT metadatafs)
install(PROGRAMS ${mdfs_pkg_src}/metadatafs-lock DESTINATION ${CMAKE_INSTALL_SBINDIR}
        COMPONENT metadatafs)

# util-linux runs /sbin/mount.<type> for `mount -t <type>` and fstab entries; for
# "fuse.metadatafs" it tries /sbin/mount.fuse.metadatafs before the generic
# /sbin/mount.fuse. mount.fuse3 takes the type from its own name after "mount.fuse.", then
# runs `metadatafs SOURCE MOUNTPOINT -o OPTIONS` from mount(8)'s fixed helper PATH
# (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin). The link is absolute
# because it crosses from /usr/sbin to /sbin (the same directory with merged /usr).
file(CREATE_LINK /sbin/mount.fuse3 ${mdfs_pkg_out}/mount.fuse.metadatafs SYMBOLIC)
install(FILES ${mdfs_pkg_out}/mount.fuse.metadatafs DESTINATION ${CMAKE_INSTALL_SBINDIR}
        COMPONENT metadatafs)

# The man page and the changelog are installed compressed (Debian policy 12.1 and 12.7);
# gzip -n keeps the build reproducible.
foreach(doc metadatafs.8 changelog)
  add_custom_command(
    OUTPUT ${mdfs_pkg_out}/${doc}.gz
    COMMAND sh -c "gzip -9nc \"$1\" > \"$2\"" sh ${mdfs_pkg_src}/${doc} ${mdfs_pkg_out}/${doc}.gz
    DEPENDS ${mdfs_pkg_src}/${doc}
    COMMENT "Compressing ${doc}"
    VERBATIM)
endforeach()
add_custom_target(metadatafs-man ALL DEPENDS ${mdfs_pkg_out}/metadatafs.8.gz
                                             ${mdfs_pkg_out}/changelog.gz)
# `man mount.fuse.metadatafs` shows the same page.
file(CREATE_LINK metadatafs.8.gz ${mdfs_pkg_out}/mount.fuse.metadatafs.8.gz SYMBOLIC)
install(FILES ${mdfs_pkg_out}/metadatafs.8.gz ${mdfs_pkg_out}/mount.fuse.metadatafs.8.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT metadatafs)

install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright
        COMPONENT metadatafs)
# packaging/changelog is in Debian's format; its first entry's version is the project's.
install(FILES ${mdfs_pkg_out}/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR}
        COMPONENT metadatafs)

# The unit and the config file: destinations and contents depend on the install prefix.
install(
  CODE "set(MDFS_PACKAGING_SOURCE \"${mdfs_pkg_src}\")
set(MDFS_PACKAGING_OUTPUT \"${mdfs_pkg_out}/install\")
set(MDFS_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
set(MDFS_SYSCONFDIR \"${CMAKE_INSTALL_SYSCONFDIR}\")
set(MDFS_DATADIR \"${CMAKE_INSTALL_DATADIR}\")
set(MDFS_SBINDIR \"${CMAKE_INSTALL_SBINDIR}\")"
  COMPONENT metadatafs)
install(SCRIPT ${mdfs_pkg_src}/install-configured.cmake COMPONENT metadatafs)

# ---- Debian package: `cpack -G DEB` in the build folder -------------------------------
# (`cpack -G RPM` makes the RPM package from the same component; see the end.)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME metadatafs)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${MDFS_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "IBM Cloud VPC instance metadata as a read-only filesystem")
set(CPACK_PACKAGE_DESCRIPTION
    "metadatafs mounts the IBM Cloud VPC instance metadata service as a read-only
directory tree (FUSE), so that people and configuration tools read instance
metadata with cat, ls, find and jq instead of scripting token requests and JSON
parsing. Data is fetched lazily and cached per endpoint; the mount itself needs
neither the network nor the service.

The package holds the daemon, the mount.fuse.metadatafs helper for /etc/fstab,
a systemd unit (metadatafs.service, not enabled) and the metadatafs(8) page.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_CMAKE_PROJECTS "${PROJECT_BINARY_DIR};${PROJECT_NAME};metadatafs;/")
set(CPACK_STRIP_FILES TRUE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # metadatafs_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# dpkg-shlibdeps adds the libraries the binary links (libfuse3-3, libcurl4, libc6,
# libstdc++6, libgcc-s1) with their minimum versions; fuse3 is for /sbin/mount.fuse3,
# fusermount3 and /dev/fuse permissions, which no library dependency brings in; passwd
# for useradd in the postinst (always there, but said).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "fuse3, passwd")
# metadatafs-lock (opt-in) needs nft.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nftables")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${mdfs_pkg_src}/debian/conffiles;${mdfs_pkg_src}/debian/postinst;${mdfs_pkg_src}/debian/prerm;${mdfs_pkg_src}/debian/postrm"
)

# ---- RPM package: `cpack -G RPM` in the build folder ----------------------------------
# Same files as the .deb. rpmbuild adds the shared libraries the binary links
# (libfuse3.so.3, libcurl.so.4, ...); the package names are for what no library brings in:
# fuse3 (mount.fuse3, fusermount3) and libcurl, on RHEL/Rocky, Fedora and SLES alike.
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)  # metadatafs-<version>-<release>.<arch>.rpm
set(CPACK_RPM_PACKAGE_RELEASE 1)
set(CPACK_RPM_PACKAGE_LICENSE MIT)
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Base")
set(CPACK_RPM_PACKAGE_VENDOR "${MDFS_PACKAGE_MAINTAINER}")
set(CPACK_RPM_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_PACKAGE_RELOCATABLE OFF)  # the unit names /usr/bin/metadatafs and /etc
# No /usr/lib/.build-id links: the binary is stripped and no debuginfo package is made.
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none")
set(CPACK_RPM_PACKAGE_REQUIRES "fuse3, libcurl")
# %pre runs useradd and groupadd.
set(CPACK_RPM_PACKAGE_REQUIRES_PRE "shadow-utils")
# (metadatafs-lock needs nftables; CPack's RPM generator cannot say so with every
# rpmbuild, so the unit and the script name it.)
set(CPACK_RPM_USER_FILELIST "%config(noreplace) /etc/metadatafs.conf")
# Directories the distribution's own packages own: listing them would claim them.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /usr/sbin /usr/share/man /usr/share/man/man8 /usr/lib/systemd /usr/lib/systemd/system)
# Like the Debian maintainer scripts: create the metadatafs user, reload systemd,
# try-restart on upgrade, stop on erase; nothing is enabled, started or mounted.
set(CPACK_RPM_PRE_INSTALL_SCRIPT_FILE ${mdfs_pkg_src}/rpm/pre)
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${mdfs_pkg_src}/rpm/post)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${mdfs_pkg_src}/rpm/preun)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${mdfs_pkg_src}/rpm/postun)
include(CPack)
