# Runs inside `cmake --install` (and CPack's staging install), where CMAKE_INSTALL_PREFIX is
# the prefix being installed to. Writes the files whose contents name installed paths, then
# installs them. Set by cmake/Packaging.cmake before this script runs:
#   MDFS_PACKAGING_SOURCE  packaging/ in the source tree
#   MDFS_PACKAGING_OUTPUT  where the configured copies are written (and removed again)
#   MDFS_BINDIR, MDFS_SBINDIR, MDFS_SYSCONFDIR, MDFS_DATADIR  GNUInstallDirs values (relative, or absolute
#                                              if set so)

function(mdfs_absolute dir out)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

mdfs_absolute("${MDFS_BINDIR}" MDFS_FULL_BINDIR)
mdfs_absolute("${MDFS_SBINDIR}" MDFS_FULL_SBINDIR)
# GNU convention, as GNUInstallDirs applies it: prefix /usr keeps its configuration in /etc
# (the Debian package's /etc/metadatafs.conf); any other prefix in <prefix>/etc.
if(IS_ABSOLUTE "${MDFS_SYSCONFDIR}")
  set(MDFS_FULL_SYSCONFDIR "${MDFS_SYSCONFDIR}")
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(MDFS_FULL_SYSCONFDIR "/${MDFS_SYSCONFDIR}")
else()
  set(MDFS_FULL_SYSCONFDIR "${CMAKE_INSTALL_PREFIX}/${MDFS_SYSCONFDIR}")
endif()
# systemd reads units from /usr/lib/systemd/system and /usr/local/lib/systemd/system
# (systemd.unit(5)), i.e. <prefix>/lib/systemd/system for both usual prefixes.
set(MDFS_UNITDIR "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")

set(MDFS_CONFIG_FILE "${MDFS_FULL_SYSCONFDIR}/metadatafs.conf")
mdfs_absolute("${MDFS_DATADIR}" MDFS_FULL_DATADIR)
set(MDFS_SERVICE_DEFAULTS "${MDFS_FULL_DATADIR}/metadatafs/service.conf")
# A folder of its own for each install: CPack staging and a `cmake --install --prefix`
# may run at the same time from one build folder, each with other paths in these files.
string(RANDOM LENGTH 12 mdfs_nonce)
string(SHA1 mdfs_key "$ENV{DESTDIR}|${CMAKE_INSTALL_PREFIX}|${mdfs_nonce}")
set(mdfs_out "${MDFS_PACKAGING_OUTPUT}/${mdfs_key}")
configure_file("${MDFS_PACKAGING_SOURCE}/metadatafs.service.in" "${mdfs_out}/metadatafs.service"
               @ONLY)
configure_file("${MDFS_PACKAGING_SOURCE}/metadatafs.conf.in" "${mdfs_out}/metadatafs.conf" @ONLY)
configure_file("${MDFS_PACKAGING_SOURCE}/service.conf.in" "${mdfs_out}/service.conf" @ONLY)
configure_file("${MDFS_PACKAGING_SOURCE}/metadatafs-lock.service.in"
               "${mdfs_out}/metadatafs-lock.service" @ONLY)

# file(INSTALL) adds DESTDIR itself and records the files in the install manifest.
file(INSTALL DESTINATION "${MDFS_UNITDIR}" TYPE FILE
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
     FILES "${mdfs_out}/metadatafs.service" "${mdfs_out}/metadatafs-lock.service")
# The unit's defaults: the package's, replaced on every install.
file(INSTALL DESTINATION "${MDFS_FULL_DATADIR}/metadatafs" TYPE FILE
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
     FILES "${mdfs_out}/service.conf")
# An administrator's edited configuration survives a second `cmake --install` (the Debian
# package stages into an empty folder, and dpkg handles it as a conffile).
if(EXISTS "$ENV{DESTDIR}${MDFS_CONFIG_FILE}")
  message(STATUS "Keeping: $ENV{DESTDIR}${MDFS_CONFIG_FILE}")
else()
  file(INSTALL DESTINATION "${MDFS_FULL_SYSCONFDIR}" TYPE FILE
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
       FILES "${mdfs_out}/metadatafs.conf")
endif()
file(REMOVE_RECURSE "${mdfs_out}")
