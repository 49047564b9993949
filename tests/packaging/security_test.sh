#!/usr/bin/env bash
# The installed metadatafs.service as `systemd-analyze security --offline=true` rates it
# (issue 13): the exposure is recorded in BUILD_DIR/packaging/systemd-security.txt and must
# be 3.5 or less (a root unit with no sandboxing: 9.4). The unit must also keep out of its
# own mount namespace, which would hide /metadata from the rest of the system.
#
#   security_test.sh BUILD_DIR
# Exit 77 (CTest: skipped) where systemd-analyze cannot rate a unit file offline (systemd
# before 250, e.g. Debian 11's 247).
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"

limit=3.5
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: no systemd-analyze here (the systemd package)"
  exit 77
fi
systemd_version=$(systemd-analyze --version | awk 'NR == 1 { print $2 + 0 }')
if ((systemd_version < 250)); then
  echo "SKIP: systemd $systemd_version cannot rate a unit file offline (250 can)"
  exit 77
fi

work=$(mktemp -d /tmp/mdfs-security-XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" || {
  cat "$work/install.log"
  fail "cmake --install failed"
}
unit=$work/prefix/lib/systemd/system/metadatafs.service

grep -Eq '^(ProtectSystem|ProtectHome|PrivateTmp|PrivateDevices|PrivateMounts|ProtectKernelTunables|ProtectKernelModules|ProtectKernelLogs|ProtectControlGroups|ProtectProc|ProcSubset|RootDirectory|RootImage|ReadOnlyPaths|TemporaryFileSystem|MountFlags)=' "$unit" &&
  fail "the unit would run in a mount namespace of its own, hiding the mount"
for line in User=metadatafs AmbientCapabilities=CAP_SYS_ADMIN CapabilityBoundingSet=CAP_SYS_ADMIN \
  NoNewPrivileges=yes IPAddressDeny=any 'IPAddressAllow=localhost 169.254.169.254'; do
  grep -qxF "$line" "$unit" || fail "unit lacks: $line"
done

systemd-analyze security --offline=true --no-pager "$unit" >"$work/report.txt" 2>&1 || {
  cat "$work/report.txt"
  fail "systemd-analyze security failed"
}
score=$(sed -n 's/.*Overall exposure level for metadatafs.service: \([0-9.]*\).*/\1/p' "$work/report.txt")
[[ -n $score ]] || {
  cat "$work/report.txt"
  fail "no overall exposure level in the report"
}
{
  echo "# systemd-analyze security --offline=true metadatafs.service"
  echo "# $(systemd-analyze --version | head -1)"
  echo "exposure $score"
  grep '✗' "$work/report.txt" || true
} >"$build/packaging/systemd-security.txt"
grep '✗' "$work/report.txt" || true
echo "exposure: $score (limit $limit; $(systemd-analyze --version | head -1))"
awk -v s="$score" -v l="$limit" 'BEGIN { exit !(s <= l) }' ||
  fail "exposure $score is above $limit"
echo "PASS"
