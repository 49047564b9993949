#!/usr/bin/env bash
# The RPM package, read with rpm -qp (nothing is installed: Debian has no rpm database of
# its own): `cpack -G RPM` from the build folder gives metadatafs-<version>-1.<arch>.rpm
# with the same files as the Debian package, %config(noreplace) on the config file,
# Requires on fuse3, libcurl and the libraries the binary links, and scriptlets that only
# reload systemd, try-restart on upgrade and stop on erase.
#
#   rpm_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"

for tool in rpm rpmbuild rpm2archive; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/install-deps.sh installs rpm)"
done
work=$(mktemp -d /tmp/mdfs-rpm-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== cpack -G RPM"
(cd "$build" && cpack -G RPM -B "$work/pkg" >"$work/cpack.log" 2>&1) || {
  cat "$work/cpack.log"
  fail "cpack failed"
}
! grep -q 'CMake Warning' "$work/cpack.log" || {
  cat "$work/cpack.log"
  fail "cpack warned"
}
shopt -s nullglob
rpms=("$work"/pkg/*.rpm)
shopt -u nullglob
[[ ${#rpms[@]} -eq 1 ]] || fail "expected one .rpm, got: ${rpms[*]:-none}"
pkg=${rpms[0]}
q() { rpm -qp "$@" "$pkg" 2>/dev/null; }
version=$(q --qf '%{VERSION}')
arch=$(q --qf '%{ARCH}')
[[ $(basename "$pkg") == "metadatafs-${version}-1.${arch}.rpm" ]] || fail "file name $(basename "$pkg")"
[[ $arch == "$(uname -m)" ]] || fail "architecture $arch"
[[ $version == "$("$build/metadatafs" --version | awk '{print $2}')" ]] ||
  fail "package version $version is not the program's"
basename "$pkg"

echo "== header"
[[ $(q --qf '%{NAME}') == metadatafs ]] || fail "Name"
[[ $(q --qf '%{LICENSE}') == MIT ]] || fail "License"
[[ $(q --qf '%{SUMMARY}') == *metadata* ]] || fail "Summary: $(q --qf '%{SUMMARY}')"
[[ $(q --qf '%{DESCRIPTION}') == "metadatafs mounts the IBM Cloud VPC"* ]] || fail "Description"
[[ $(q --qf '%{PREFIXES}') == "(none)" ]] || fail "relocatable: $(q --qf '%{PREFIXES}')"

echo "== requires"
requires=$(q --requires)
echo "$requires" | grep -v '^rpmlib(' | tr '\n' ' '
echo
# libfuse's soname is 3 up to libfuse 3.16 and 4 from 3.17 (Debian 13).
for dep in fuse3 libcurl 'libfuse3\.so\.[34]\(\)\(64bit\)' 'libcurl\.so\.4\(\)\(64bit\)' \
  'libc\.so\.6\(\)\(64bit\)'; do
  grep -qxE "$dep" <<<"$requires" || fail "Requires lacks $dep"
done

echo "== file list"
expected="/etc/metadatafs.conf
/usr/bin/metadatafs
/usr/lib/systemd/system/metadatafs-lock.service
/usr/lib/systemd/system/metadatafs.service
/usr/sbin/metadatafs-lock
/usr/sbin/mount.fuse.metadatafs -> /sbin/mount.fuse3
/usr/share/doc/metadatafs
/usr/share/doc/metadatafs/changelog.gz
/usr/share/doc/metadatafs/copyright
/usr/share/man/man8/metadatafs.8.gz
/usr/share/man/man8/mount.fuse.metadatafs.8.gz -> metadatafs.8.gz
/usr/share/metadatafs
/usr/share/metadatafs/service.conf"
actual=$(q --qf '[%{FILENAMES}\t%{FILELINKTOS}\n]' | awk -F '\t' '{ print $2 == "" ? $1 : $1 " -> " $2 }' | sort)
[[ $actual == "$expected" ]] || fail "package files differ:
--- expected
$expected
--- actual
$actual"
# Owner, mode and flags: root files, an executable binary, the config file the only
# %config, and noreplace, so an edited /etc/metadatafs.conf survives upgrades.
q --qf '[%{FILEUSERNAME}:%{FILEGROUPNAME}\n]' | grep -qv '^root:root$' && fail "files not owned by root"
[[ $(q --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' | grep ' /usr/bin/metadatafs$') == "-rwxr-xr-x "* ]] ||
  fail "mode of /usr/bin/metadatafs"
[[ $(q --configfiles) == /etc/metadatafs.conf ]] || fail "config files: $(q --configfiles)"
[[ $(q --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' | grep ' /etc/metadatafs.conf$') == "cn "* ]] ||
  fail "/etc/metadatafs.conf is not %config(noreplace)"
[[ $(q --docfiles | sort | tr '\n' ' ') == *man8/metadatafs.8.gz* ]] || fail "man page not a doc file"

echo "== scriptlets"
scripts=$(q --scripts)
for s in preinstall postinstall preuninstall postuninstall; do
  grep -q "^$s scriptlet (using /bin/sh):" <<<"$scripts" || fail "no %${s} scriptlet"
done
# CPack 3.18 (Debian 11) declares empty %pretrans and %posttrans ("... program: /bin/sh"):
# they run nothing. A body would show as "... scriptlet".
grep -Eq "^(pretrans|posttrans) scriptlet" <<<"$scripts" && fail "unexpected scriptlet: $scripts"
# %pre makes the metadatafs system user, and nothing removes it.
pre=$(q --qf '%{PREIN}')
grep -q 'useradd -r -g metadatafs -d /nonexistent -M -s /sbin/nologin' <<<"$pre" ||
  fail "%pre does not create the metadatafs user: $pre"
grep -q 'userdel' <<<"$scripts" && fail "a scriptlet removes the metadatafs user"
grep -qx 'shadow-utils' <<<"$(q --qf '[%{REQUIREFLAGS:deptype} %{REQUIRENAME}\n]' | sed -n 's/^pre //p')" ||
  fail "%pre does not require shadow-utils"
for tag in POSTIN PREUN POSTUN; do
  body=$(q --qf "%{$tag}")
  printf '%s\n' "$body" >"$work/$tag.sh"
  sh -n "$work/$tag.sh" || fail "%$tag is not valid sh"
  # Only when systemd runs, and nothing surprising: never enable, start or mount anything.
  grep -q '/run/systemd/system' "$work/$tag.sh" || fail "%$tag does not check for systemd"
  grep -v '^ *#' "$work/$tag.sh" |
    grep -Eq 'systemctl( --[a-z]+)* (enable|start|restart|reenable)( |$)|(^|[^u])mount ' &&
    fail "%$tag does something surprising"
done
grep -q 'daemon-reload' "$work/POSTIN.sh" || fail "%post does not reload systemd"
grep -q 'try-restart metadatafs.service' "$work/POSTUN.sh" || fail "%postun does not try-restart"
grep -q 'stop metadatafs.service' "$work/PREUN.sh" || fail "%preun does not stop the service"

# Played with a stand-in systemctl that records its calls: on install, upgrade and erase.
mkdir -p "$work/bin" "$work/run/systemd/system"
cat >"$work/bin/systemctl" <<'EOF'
#!/bin/sh
echo "$*" >>"$CALLS"
EOF
chmod +x "$work/bin/systemctl"
play() {  # TAG ARG -> the systemctl calls, one line each
  : >"$work/calls"
  sed "s#/run/systemd/system#$work/run/systemd/system#g" "$work/$1.sh" >"$work/$1.played.sh"
  CALLS=$work/calls PATH="$work/bin:$PATH" sh "$work/$1.played.sh" "$2" || fail "%$1 $2 failed"
  tr '\n' ';' <"$work/calls"
}
[[ $(play POSTIN 1) == "--system daemon-reload;" ]] || fail "%post on install: $(play POSTIN 1)"
[[ $(play POSTIN 2) == "--system daemon-reload;" ]] || fail "%post on upgrade: $(play POSTIN 2)"
[[ $(play PREUN 1) == "" ]] || fail "%preun on upgrade: $(play PREUN 1)"
[[ $(play PREUN 0) == "--system stop metadatafs.service;" ]] || fail "%preun on erase: $(play PREUN 0)"
[[ $(play POSTUN 1) == "--system daemon-reload;--system try-restart metadatafs.service;" ]] ||
  fail "%postun on upgrade: $(play POSTUN 1)"
[[ $(play POSTUN 0) == "--system daemon-reload;" ]] || fail "%postun on erase: $(play POSTUN 0)"

echo "== payload"
mkdir "$work/root"
rpm2archive - <"$pkg" | tar -xzf - -C "$work/root"
[[ $(file "$work/root/usr/bin/metadatafs") == *", stripped"* ]] || fail "/usr/bin/metadatafs is not stripped"
grep -q "^ExecStart=/usr/bin/metadatafs metadatafs /metadata -o allow_other,recover,config=/usr/share/metadatafs/service.conf,config=/etc/metadatafs.conf$" \
  "$work/root/usr/lib/systemd/system/metadatafs.service" || fail "the unit's ExecStart"
grep -q '^\.TH METADATAFS 8' <<<"$(zcat "$work/root/usr/share/man/man8/metadatafs.8.gz")" || fail "the man page"
echo "PASS: $(basename "$pkg")"
