#!/usr/bin/env bash
# The Debian package, end to end on this machine: `cpack -G DEB` from the build folder
# gives metadatafs_<version>_<arch>.deb with the right fields, Depends, file list and
# maintainer scripts; `dpkg -i` installs it without enabling, starting or mounting
# anything but the metadatafs system user; an fstab entry mounts through the installed
# helper and binary, and the daemon serves as that user; `dpkg -r` removes every file but
# the conffile and keeps the user, `dpkg -P` removes those too, and nothing is left behind.
#
# It changes the system (dpkg), so CTest runs it only in the plain configuration (a
# sanitizer build is not a shippable binary) and never beside itself (RESOURCE_LOCK dpkg).
# The package is always removed again, whatever fails.
#
#   package_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"

package_state() {
  dpkg-query -W -f='${Status}' metadatafs 2>/dev/null || true
}
case $(package_state) in
  "" | *not-installed) ;;
  *) fail "the metadatafs package is already on this machine ($(package_state)); not touching it" ;;
esac
# A metadatafs user that is not the package's would be kept by purge, and spoil the checks.
if getent passwd metadatafs >/dev/null; then
  fail "a metadatafs user exists already ($(getent passwd metadatafs)); not touching it"
fi

# Minimal images tell dpkg not to install man pages and docs (path-exclude in
# /etc/dpkg/dpkg.cfg.d); the last path-exclude or path-include that matches decides.
dpkg_filters=$(cat /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/* 2>/dev/null |
  grep -E '^path-(exclude|include)[ =]' | tr '=' ' ' || true)
dpkg_keeps() {
  local keep=0 kind pattern
  while read -r kind pattern; do
    [[ -n $kind ]] || continue
    # shellcheck disable=SC2053 # the pattern is a glob on purpose
    if [[ $1 == $pattern ]]; then
      if [[ $kind == path-exclude ]]; then keep=1; else keep=0; fi
    fi
  done <<<"$dpkg_filters"
  return $keep
}

work=$(mktemp -d /tmp/mdfs-package-XXXXXX)
mnt=$work/metadata
EMULATOR_PID=
installed=false
# dpkg refuses to run while another dpkg or apt holds its lock: wait for it.
dpkg_retry() {
  local i
  for ((i = 0; i < 120; i++)); do
    if dpkg "$@" >"$work/dpkg.out" 2>&1; then
      return 0
    fi
    grep -qi 'lock' "$work/dpkg.out" || break
    sleep 1
  done
  cat "$work/dpkg.out" >&2
  return 1
}
cleanup() {
  set +e
  local pid
  pid=$(daemon_of "$mnt")
  [[ -n $pid ]] && kill "$pid"
  if mounted "$mnt" || dead_mount "$mnt"; then umount -l "$mnt"; fi
  stop_emulator
  if $installed && [[ -n $(package_state) && $(package_state) != *not-installed ]]; then
    echo "cleanup: purging the metadatafs package" >&2
    dpkg_retry -P metadatafs
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1) || {
  cat "$work/cpack.log"
  fail "cpack failed"
}
shopt -s nullglob
debs=("$work"/pkg/*.deb)
shopt -u nullglob
[[ ${#debs[@]} -eq 1 ]] || fail "expected one .deb, got: ${debs[*]:-none}"
deb=${debs[0]}
version=$(dpkg-deb -f "$deb" Version)
arch=$(dpkg-deb -f "$deb" Architecture)
[[ $(basename "$deb") == "metadatafs_${version}_${arch}.deb" ]] || fail "file name $(basename "$deb")"
[[ $arch == "$(dpkg --print-architecture)" ]] || fail "architecture $arch"
[[ $version == "$("$build/metadatafs" --version | awk '{print $2}')" ]] ||
  fail "package version $version is not the program's"
basename "$deb"

echo "== control fields"
[[ $(dpkg-deb -f "$deb" Package) == metadatafs ]] || fail "Package field"
[[ $(dpkg-deb -f "$deb" Section) == admin ]] || fail "Section field"
[[ $(dpkg-deb -f "$deb" Priority) == optional ]] || fail "Priority field"
[[ -n $(dpkg-deb -f "$deb" Maintainer) ]] || fail "no Maintainer"
[[ -z $(dpkg-deb -f "$deb" Homepage) ]] || fail "unexpected Homepage"
description=$(dpkg-deb -f "$deb" Description)
[[ ${description%%$'\n'*} == *"metadata"* ]] || fail "Description: $description"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
# Library package names carry their soname and, from Debian 13, the 64-bit time_t
# transition: libfuse3-3 or libfuse3-4, libcurl4 or libcurl4t64.
for dep in fuse3 passwd 'libfuse3-[0-9]+' 'libcurl4(t64)?' 'libseccomp2' libc6; do
  grep -Eq "(^|, )$dep( \\([^)]*\\))?(,|$)" <<<"$depends" || fail "Depends lacks $dep: $depends"
done

echo "== file list"
expected="./etc/metadatafs.conf
./usr/bin/metadatafs
./usr/lib/systemd/system/metadatafs-lock.service
./usr/lib/systemd/system/metadatafs.service
./usr/sbin/metadatafs-lock
./usr/sbin/mount.fuse.metadatafs -> /sbin/mount.fuse3
./usr/share/doc/metadatafs/changelog.gz
./usr/share/doc/metadatafs/copyright
./usr/share/man/man8/metadatafs.8.gz
./usr/share/man/man8/mount.fuse.metadatafs.8.gz -> metadatafs.8.gz
./usr/share/metadatafs/service.conf"
contents=$(dpkg-deb -c "$deb")
actual=$(awk '$1 !~ /^d/ { $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }' <<<"$contents" | sort)
[[ $actual == "$expected" ]] || fail "package files differ:
--- expected
$expected
--- actual
$actual"
grep -q 'emulator\|test' <<<"$contents" && fail "test programs in the package"
[[ -z $(awk '$1 !~ /^[dl]/ && $2 != "root/root"' <<<"$contents") ]] || fail "files not owned by root"
grep -q '^-rwxr-xr-x .* ./usr/bin/metadatafs$' <<<"$contents" || fail "mode of usr/bin/metadatafs"

echo "== control files"
dpkg-deb -e "$deb" "$work/control"
[[ $(cat "$work/control/conffiles") == /etc/metadatafs.conf ]] || fail "conffiles"
for script in postinst prerm postrm; do
  [[ -x $work/control/$script ]] || fail "$script missing or not executable"
  sh -n "$work/control/$script" || fail "$script is not valid sh"
  # Nothing surprising: never enable, start or mount anything.
  grep -v '^ *#' "$work/control/$script" |
    grep -Eq 'systemctl (enable|start|restart|reenable)|(^|[^u])mount ' &&
    fail "$script does something surprising"
done
dpkg-deb -x "$deb" "$work/root"
[[ $(file "$work/root/usr/bin/metadatafs") == *", stripped"* ]] || fail "usr/bin/metadatafs is not stripped"
grep -q "^ExecStart=/usr/bin/metadatafs metadatafs /metadata -o allow_other,recover,config=/usr/share/metadatafs/service.conf,config=/etc/metadatafs.conf$" \
  "$work/root/usr/lib/systemd/system/metadatafs.service" || fail "the unit's ExecStart"

if command -v lintian >/dev/null; then
  echo "== lintian"
  lintian --fail-on error,warning "$deb" || fail "lintian"
fi

echo "== dpkg -i"
enabled_units() {
  find /etc/systemd/system -path '*.wants/*' 2>/dev/null | sort
}
wants_before=$(enabled_units)
installed=true
dpkg_retry -i "$deb" || fail "dpkg -i failed"
[[ $(package_state) == "install ok installed" ]] || fail "state after dpkg -i: $(package_state)"
dpkg -L metadatafs >"$work/files"
[[ $(/usr/bin/metadatafs --version) == "metadatafs $version "* ]] || fail "installed binary"
[[ -x /sbin/mount.fuse.metadatafs ]] || fail "/sbin/mount.fuse.metadatafs does not resolve"
man_check=--man=yes
if dpkg_keeps /usr/share/man/man8/metadatafs.8.gz; then
  [[ $(man -w metadatafs) == /usr/share/man/man8/metadatafs.8.gz ]] || fail "man -w: $(man -w metadatafs)"
  man -w mount.fuse.metadatafs >/dev/null || fail "no page for mount.fuse.metadatafs"
  out=$(MANWIDTH=80 man --warnings 8 metadatafs 2>&1 >/dev/null) || true
  [[ -z $out ]] || fail "man warnings for the installed page: $out"
else
  echo "dpkg is configured not to install man pages here: skipping the installed page"
  man_check=--man=no
fi
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$man_check" /usr/lib/systemd/system/metadatafs.service ||
    fail "systemd-analyze verify of the installed unit"
fi
# Installing started, enabled and mounted nothing.
for p in $(pgrep -x metadatafs || true); do
  [[ $(readlink "/proc/$p/exe" 2>/dev/null) == /usr/bin/metadatafs ]] && fail "a daemon runs after dpkg -i"
done
findmnt -rn /metadata >/dev/null && fail "/metadata is mounted after dpkg -i"
[[ $(enabled_units) == "$wants_before" ]] ||
  fail "dpkg -i enabled a unit"
echo "== the metadatafs user"
entry=$(getent passwd metadatafs) || fail "dpkg -i made no metadatafs user"
echo "$entry"
IFS=: read -r _ _ user_uid user_gid gecos home shell <<<"$entry"
[[ $user_uid -gt 0 && $user_uid -lt 1000 ]] || fail "not a system uid: $user_uid"
[[ $(getent group metadatafs | cut -d: -f3) == "$user_gid" ]] || fail "no metadatafs group"
[[ $gecos == "metadatafs daemon" && $home == /nonexistent && $shell == */nologin ]] ||
  fail "the user can log in or has a home: $entry"
[[ ! -e /nonexistent ]] || fail "a home was created"

echo "== mount -T fstab with the installed helper and binary"
start_emulator "$build" "$work"
mkdir "$mnt"
echo "metadatafs $mnt fuse.metadatafs ro,allow_other,_netdev,nofail,cloud=ibm,endpoint=$EMULATOR_URL 0 0" \
  >"$work/fstab"
# LIBMOUNT_DEBUG shows which helper mount(8) chose; cd / as at boot.
(cd / && LIBMOUNT_DEBUG=cxt mount -T "$work/fstab" "$mnt") 2>"$work/mount.debug" || {
  tail -20 "$work/mount.debug"
  fail "mount -T failed"
}
grep -q 'executing helper /sbin/mount.fuse.metadatafs$' "$work/mount.debug" ||
  fail "mount(8) did not run /sbin/mount.fuse.metadatafs: $(grep helper "$work/mount.debug")"
mounted "$mnt" || fail "not mounted"
pid=$(daemon_of "$mnt")
[[ $(readlink "/proc/$pid/exe") == /usr/bin/metadatafs ]] || fail "the daemon is not /usr/bin/metadatafs"
# Mounted as root, it serves as the package's user.
wait_until 5 grep -q '^Seccomp:.*2' "/proc/$pid/status" || fail "the daemon is not confined"
[[ $(awk '/^Uid:/ { print $2 }' "/proc/$pid/status") == "$user_uid" ]] ||
  fail "the daemon does not serve as metadatafs: $(grep ^Uid: "/proc/$pid/status")"
[[ $(cat "$mnt/instance/name") == web-frontend-01 ]] || fail "cannot read the mount"
[[ $(findmnt -rn -M "$mnt" -o SOURCE,FSTYPE) == "metadatafs fuse.metadatafs" ]] || fail "findmnt"
umount "$mnt"
wait_until 10 gone "$pid" || fail "daemon still running after umount"
stop_emulator

echo "== dpkg -r"
dpkg_retry -r metadatafs || fail "dpkg -r failed"
[[ $(package_state) == "deinstall ok config-files" ]] || fail "state after dpkg -r: $(package_state)"
while IFS= read -r path; do
  [[ -d $path && ! -L $path ]] && continue # shared directories such as /usr/bin stay
  if [[ $path == /etc/metadatafs.conf ]]; then
    [[ -f $path ]] || fail "dpkg -r removed the conffile $path"
  elif [[ -e $path || -L $path ]]; then
    fail "$path left behind by dpkg -r"
  fi
done <"$work/files"
[[ -d /usr/share/doc/metadatafs ]] && fail "/usr/share/doc/metadatafs left behind"
getent passwd metadatafs >/dev/null || fail "dpkg -r removed the metadatafs user"

echo "== dpkg -P"
dpkg_retry -P metadatafs || fail "dpkg -P failed"
installed=false
case $(package_state) in
  "" | *not-installed) ;;
  *) fail "state after dpkg -P: $(package_state)" ;;
esac
[[ -e /etc/metadatafs.conf ]] && fail "/etc/metadatafs.conf left behind by dpkg -P"
getent passwd metadatafs && fail "the metadatafs user is left after dpkg -P"
getent group metadatafs && fail "the metadatafs group is left after dpkg -P"
compgen -G "/var/lib/dpkg/info/metadatafs.*" >/dev/null && fail "dpkg info files left behind"
compgen -G "/etc/systemd/system/*.wants/metadatafs.service" >/dev/null && fail "unit links left"
for p in $(pgrep -x metadatafs || true); do
  [[ $(readlink "/proc/$p/exe" 2>/dev/null) == "/usr/bin/metadatafs"* ]] && ! gone "$p" &&
    fail "a daemon from the package still runs"
done
grep -q " $mnt " /proc/mounts && fail "$mnt still mounted"
echo "PASS"
