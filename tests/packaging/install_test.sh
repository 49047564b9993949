#!/usr/bin/env bash
# `cmake --install` into a temporary prefix installs exactly the daemon, the mount helper
# link, the man page, the systemd unit, the config file, the copyright and the changelog,
# and nothing of the emulator or the tests. Then the installed unit is played the way systemd would
# (ExecStartPre, ExecStart with Type=forking, ExecReload, a crash, Restart=on-failure,
# ExecStopPost, stop) against the emulator, with /metadata moved into the temporary folder.
#
# The unit's commands run as systemd would run them: ExecStart as its User= with its
# AmbientCapabilities= and CapabilityBoundingSet= (setpriv), "+" commands as root. The
# metadatafs user is the package's; without it here, nobody stands in.
#
#   install_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"

# systemd's udev makes /dev/fuse 0666, and the service user opens it; a machine without
# udev may have it 0600. Then the test runs in a mount namespace of its own where a 0666
# node of the same device stands over /dev/fuse (the mounts below live there too).
if [[ -z ${MDFS_INSTALL_TEST_NS:-} && $(stat -c %a /dev/fuse) != 666 ]]; then
  exec unshare -m --propagation private env MDFS_INSTALL_TEST_NS=1 bash "$0" "$@"
fi
if [[ -n ${MDFS_INSTALL_TEST_NS:-} ]]; then
  node=$(mktemp -d /tmp/mdfs-fuse-node-XXXXXX)
  mknod -m 0666 "$node/fuse" c 10 229
  mount --bind "$node/fuse" /dev/fuse
  rm -rf "$node"
fi

work=$(mktemp -d /tmp/mdfs-install-XXXXXX)
chmod 0755 "$work"  # the service user reads the installed files
prefix=$work/prefix
mnt=$work/metadata
EMULATOR_PID=
cleanup() {
  set +e
  local pid
  pid=$(daemon_of "$mnt")
  [[ -n $pid ]] && kill "$pid"
  if mounted "$mnt" || dead_mount "$mnt"; then umount -l "$mnt"; fi
  stop_emulator
  rm -rf "$work"
}
trap cleanup EXIT

echo "== cmake --install --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log" || {
  cat "$work/install.log"
  fail "cmake --install failed"
}
expected="bin/metadatafs
etc/metadatafs.conf
lib/systemd/system/metadatafs-lock.service
lib/systemd/system/metadatafs.service
sbin/metadatafs-lock
sbin/mount.fuse.metadatafs -> /sbin/mount.fuse3
share/doc/metadatafs/changelog.gz
share/doc/metadatafs/copyright
share/man/man8/metadatafs.8.gz
share/man/man8/mount.fuse.metadatafs.8.gz -> metadatafs.8.gz
share/metadatafs/service.conf"
actual=$(cd "$prefix" && find . \( -type l -printf '%P -> %l\n' \) -o \( ! -type d -printf '%P\n' \) | sort)
[[ $actual == "$expected" ]] || fail "installed files differ:
--- expected
$expected
--- actual
$actual"
[[ -x $prefix/bin/metadatafs ]] || fail "bin/metadatafs is not executable"
[[ $("$prefix/bin/metadatafs" --version) == "metadatafs "* ]] || fail "installed binary does not run"
gzip -t "$prefix/share/man/man8/metadatafs.8.gz" || fail "man page is not gzip"
gzip -dc "$prefix/share/doc/metadatafs/changelog.gz" >"$work/changelog"
version=$("$prefix/bin/metadatafs" --version | awk '{print $2}')
[[ $(dpkg-parsechangelog -l "$work/changelog" -S Version) == "$version" ]] ||
  fail "packaging/changelog does not start with version $version"
[[ -x /sbin/mount.fuse3 ]] || fail "/sbin/mount.fuse3 (fuse3) missing: the helper link would dangle"

unit=$prefix/lib/systemd/system/metadatafs.service
conf=$prefix/etc/metadatafs.conf
defaults=$prefix/share/metadatafs/service.conf
grep -qx "ExecStart=$prefix/bin/metadatafs metadatafs /metadata -o allow_other,recover,config=$defaults,config=$conf" "$unit" ||
  fail "ExecStart does not name the installed binary and config: $(grep ExecStart= "$unit")"
grep -Eq '^(After|Wants|Requires)=.*network' "$unit" &&
  fail "the unit waits for the network"
# shellcheck disable=SC2016 # $MAINPID is systemd's, not ours
for line in 'Type=forking' 'Restart=on-failure' 'ExecStartPre=-+/bin/mkdir -p -m 0755 /metadata' \
  'ExecReload=/bin/kill -HUP $MAINPID' 'WantedBy=multi-user.target'; do
  grep -qxF "$line" "$unit" || fail "unit lacks: $line"
done
grep -Eq '^(ProtectSystem|ProtectHome|PrivateTmp|PrivateDevices|PrivateMounts|ReadOnlyPaths|TemporaryFileSystem)=' "$unit" &&
  fail "the unit would run in its own mount namespace, hiding the mount"
if command -v systemd-analyze >/dev/null; then
  echo "== systemd-analyze verify"
  # --man=no: the page is installed under the temporary prefix, not on MANPATH.
  systemd-analyze verify --man=no "$unit" || fail "systemd-analyze verify failed"
  systemd-analyze verify --man=no "$prefix/lib/systemd/system/metadatafs-lock.service" ||
    fail "systemd-analyze verify of metadatafs-lock.service failed"
fi
grep -qx "ExecStart=$prefix/sbin/metadatafs-lock start" "$prefix/lib/systemd/system/metadatafs-lock.service" ||
  fail "metadatafs-lock.service does not name the installed script"
grep -qx "uid=root" "$defaults" && grep -qx "gid=root" "$defaults" ||
  fail "the unit's defaults do not keep files root's"
# The unit's user, capabilities and bounding set, for setpriv.
unit_value() { sed -n "s/^$1=//p" "$unit" | tail -1; }
service_user=$(unit_value User)
service_group=$(unit_value Group)
getent passwd "$service_user" >/dev/null || service_user=nobody
getent group "$service_group" >/dev/null || service_group=$(id -gn nobody)
caps=$(unit_value AmbientCapabilities | tr 'A-Z ' 'a-z,' | sed 's/cap_//g')
bounding=$(unit_value CapabilityBoundingSet | tr 'A-Z ' 'a-z,' | sed 's/cap_//g')
[[ $caps == sys_admin && $bounding == sys_admin ]] || fail "unexpected capabilities: $caps / $bounding"

# A second install keeps an edited configuration file.
echo "# edited by the administrator" >>"$conf"
cmake --install "$build" --prefix "$prefix" >"$work/install2.log"
grep -q "edited by the administrator" "$conf" || fail "a second install overwrote $conf"

echo "== the unit, played as systemd would"
start_emulator "$build" "$work"
echo "cloud=ibm" >>"$conf"
echo "endpoint=$EMULATOR_URL" >>"$conf"
# The unit's commands, /metadata moved into the work folder. A leading "-" means systemd
# ignores the command's failure.
unit_commands() {
  sed -n "s|^$1=||p" "$unit" | sed "s|/metadata\\b|$mnt|g"
}
# A command as the service user, with the unit's capabilities and nothing else.
as_service() {
  setpriv --reuid="$service_user" --regid="$service_group" --clear-groups \
    --inh-caps="-all,+$caps" --ambient-caps="+$caps" --bounding-set="-all,+$bounding" \
    --no-new-privs "$@"
}
run_unit() {
  local key=$1 cmd prefix ignore runner
  shift
  while IFS= read -r cmd; do
    cmd=${cmd//\$MAINPID/${MAINPID:-}}
    prefix=${cmd%%[!-+]*}
    cmd=${cmd#"$prefix"}
    ignore=false runner=as_service
    [[ $prefix == *-* ]] && ignore=true
    [[ $prefix == *+* || $key == ExecReload ]] && runner=
    if $ignore; then
      eval "$runner $cmd" >/dev/null 2>&1 || true
    else
      eval "$runner $cmd" || fail "$key failed: $cmd"
    fi
  done < <(unit_commands "$key")
}
start_unit() {
  run_unit ExecStartPre
  # Type=forking: ExecStart returns once the daemon has detached; that is "started".
  run_unit ExecStart
  mounted "$mnt" || fail "ExecStart returned before $mnt was mounted"
  MAINPID=$(daemon_of "$mnt")
  [[ -n $MAINPID ]] || fail "no daemon serving $mnt"
  # Never root, and nothing left of CAP_SYS_ADMIN once serving.
  wait_until 5 grep -q '^Seccomp:.*2' "/proc/$MAINPID/status" || fail "the daemon is not confined"
  local uid
  uid=$(id -u "$service_user")
  [[ $(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$MAINPID/status") == "$uid $uid $uid $uid" ]] ||
    fail "the daemon does not run as $service_user: $(grep ^Uid: "/proc/$MAINPID/status")"
  grep -q '^CapEff:.*0000000000000000' "/proc/$MAINPID/status" || fail "the daemon kept capabilities"
}

start_unit
[[ $(cat "$mnt/instance/name") == web-frontend-01 ]] || fail "cannot read through the unit's mount"
[[ $(requests "GET /metadata/v1/instance") == 1 ]] || fail "expected one fetch"
[[ $(findmnt -rn -M "$mnt" -o OPTIONS) == *allow_other* ]] || fail "allow_other missing"
[[ $(stat -c %u:%g "$mnt/instance/name") == 0:0 ]] || fail "files are not root's: $(stat -c %U:%G "$mnt/instance/name")"

echo "-- systemctl reload"
run_unit ExecReload
refetched() {
  [[ $(cat "$mnt/instance/name") == web-frontend-01 ]] &&
    [[ $(requests "GET /metadata/v1/instance") == 2 ]]
}
wait_until 5 refetched || fail "reload did not lead to a refetch"

echo "-- crash, then restart: recover clears the dead mount"
kill -KILL "$MAINPID"
wait_until 5 gone "$MAINPID" || fail "daemon survived SIGKILL"
dead_mount "$mnt" || fail "expected a dead mount after the crash"
start_unit
[[ $(cat "$mnt/instance/name") == web-frontend-01 ]] || fail "no data after the restart"

echo "-- crash, then ExecStopPost: no dead mount left while waiting for the restart"
kill -KILL "$MAINPID"
wait_until 5 gone "$MAINPID" || fail "daemon survived SIGKILL"
run_unit ExecStopPost
ls "$mnt" >/dev/null || fail "ExecStopPost left $mnt unusable"
mounted "$mnt" && fail "still mounted after ExecStopPost"
start_unit

echo "-- systemctl stop"
kill -TERM "$MAINPID"
wait_until 10 gone "$MAINPID" || fail "daemon did not exit on SIGTERM"
mounted "$mnt" && fail "still mounted after stop"
run_unit ExecStopPost
echo "PASS"
