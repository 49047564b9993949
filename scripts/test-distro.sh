#!/usr/bin/env bash
# Builds metadatafs and runs its tests on another Debian release's userland: a minimal
# debootstrap chroot of DISTRO (cached under build-distro/DISTRO), the build dependencies
# installed there with apt, a clean copy of this working tree built with the chroot's
# compiler against its libraries, then CTest inside the chroot: unit tests, integration
# tests with real FUSE mounts, packaging and conformance tests, one plain configuration.
#
#   scripts/test-distro.sh bullseye   Debian 11: gcc 10, cmake 3.18, libfuse 3.10, curl 7.74
#   scripts/test-distro.sh bookworm   Debian 12: gcc 12, cmake 3.25, libfuse 3.14, curl 7.88
#   scripts/test-distro.sh trixie     Debian 13: gcc 14, cmake 3.31, libfuse 3.17, curl 8.14
#   options: --bench        also run the parallel-lookups benchmark figure in the chroot
#            --clean-build  rebuild from scratch (the build folder is kept between runs)
#            --new-chroot   throw the cached chroot away and bootstrap it again
#   CTEST_ARGS="-R Mount" narrows the tests, as with scripts/test.sh.
#
# Needs root, debootstrap, unshare and the Debian mirror this machine's apt uses (or
# MDFS_DEBIAN_MIRROR). Everything runs in a private mount namespace: the bind mounts of
# /dev, /proc and /sys are undone on every exit path, and vanish with the namespace even
# if this script is killed. A later run reuses the chroot and the build folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
args=("$@")
distro=""
bench=0
clean_build=0
new_chroot=0
while (($#)); do
  case $1 in
    bullseye | bookworm | trixie) distro=$1 ;;
    --bench) bench=1 ;;
    --clean-build) clean_build=1 ;;
    --new-chroot) new_chroot=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "test-distro.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -n $distro ]] || { usage >&2; exit 2; }

say() { printf '[%s %4ds] %s\n' "$distro" "$SECONDS" "$*"; }
die() { echo "test-distro.sh: $distro: FAILED: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot, mounts)"
for tool in debootstrap unshare chroot mount umount flock git tar; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/install-deps.sh"
done

base=$root/build-distro/$distro
rootfs=$base/rootfs

# Mount points at or below $1 in this namespace, deepest first.
mounts_below() {
  awk -v top="$1" '{ gsub(/\\040/, " ", $5); if ($5 == top || index($5, top "/") == 1) print $5 }' \
    /proc/self/mountinfo | sort -r
}
unmount_below() {
  local m
  while read -r m; do
    [[ -n $m ]] || continue
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done < <(mounts_below "$1")
}
# Processes whose root directory is the chroot: only this script starts any there.
chroot_pids() {
  local p r
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    [[ $r == "$rootfs" || $r == "$rootfs/"* ]] && echo "${p#/proc/}"
  done
  return 0
}
stop_chroot_processes() {
  local pids i
  pids=$(chroot_pids)
  [[ -n $pids ]] || return 0
  # shellcheck disable=SC2086 # one pid per word
  kill -TERM $pids 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pids=$(chroot_pids)
    [[ -n $pids ]] || return 0
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
}

if [[ -z ${MDFS_DISTRO_NAMESPACE:-} ]]; then
  mkdir -p "$base"
  # One run per distribution at a time; the lock is held by the namespaced child too.
  exec 9>"$base/.lock"
  flock -n 9 || die "another test-distro.sh $distro is running"
  # An interrupted run of an older version, or a mount made by hand, in this namespace.
  stop_chroot_processes
  unmount_below "$base"
  export MDFS_DISTRO_NAMESPACE=1
  exec unshare --mount --propagation private -- "$0" "${args[@]}"
fi

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  stop_chroot_processes
  unmount_below "$rootfs"
  [[ -z $(mounts_below "$rootfs") ]] || echo "test-distro.sh: mounts left below $rootfs" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- the mirror
# The first Debian archive this machine's apt uses (deb822 or one-line sources).
host_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\/.*\/debian\/?$/) { print $i; exit } }' "$f"
  done
}
mirror=${MDFS_DEBIAN_MIRROR:-$(host_mirror | head -1)}
mirror=${mirror:-http://deb.debian.org/debian}

# ---------------------------------------------------------------- the chroot
if ((new_chroot)); then
  say "removing the cached chroot"
  rm -rf --one-file-system "$rootfs"
fi
if [[ ! -f $rootfs/.mdfs-bootstrapped ]]; then
  # A half-made chroot from an interrupted run is started over.
  rm -rf --one-file-system "$rootfs" "$base/rootfs.new"
  say "debootstrap --variant=minbase $distro from $mirror"
  t=$SECONDS
  debootstrap --variant=minbase "$distro" "$base/rootfs.new" "$mirror" >"$base/debootstrap.log" 2>&1 ||
    { tail -30 "$base/debootstrap.log"; die "debootstrap"; }
  touch "$base/rootfs.new/.mdfs-bootstrapped"
  mv "$base/rootfs.new" "$rootfs"
  say "chroot created in $((SECONDS - t)) s"
else
  say "reusing the chroot in $rootfs"
fi

# The chroot's / a mount point of its own: `unshare -m` in the integration tests makes
# it private, which fails with EINVAL on a directory that is not one.
mount --bind "$rootfs" "$rootfs"
mount --rbind /dev "$rootfs/dev"
mount --make-rslave "$rootfs/dev"
mount --bind /proc "$rootfs/proc"
mount --rbind /sys "$rootfs/sys"
mount --make-rslave "$rootfs/sys"
# Name resolution and this machine's certificate authorities (apt's mirror, npm's registry).
cp -L /etc/resolv.conf /etc/hosts "$rootfs/etc/"
mkdir -p "$rootfs/usr/local/share/ca-certificates"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
fi
# No service of an installed package starts inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 755 "$rootfs/usr/sbin/policy-rc.d"

in_chroot() {
  chroot "$rootfs" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI="${CI:-}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    "$@"
}

# ---------------------------------------------------------------- build dependencies
# What scripts/install-deps.sh installs on this machine, less the benchmarks' and demo's.
packages=(
  build-essential cmake pkg-config
  libfuse3-dev fuse3 mount
  libcurl4-openssl-dev curl ca-certificates
  rapidjson-dev libgtest-dev libgmock-dev
  libssl-dev openssl
  jq procps psmisc util-linux
  man-db groff-base dpkg-dev file rpm xz-utils
)
((bench)) && packages+=(libbenchmark-dev)
skips=()
node_sdk=conformance.node_sdk_vpc_authenticator
case $distro in
  bullseye)
    # Debian 11 has no cpp-httplib package (and its backports are no longer on the
    # mirrors); the emulator uses the header of Debian 12's source package instead.
    skips+=("$node_sdk: Debian 11 has Node.js 12; ibm-cloud-sdk-core needs 20")
    ;;
  bookworm)
    packages+=(libcpp-httplib-dev)
    skips+=("$node_sdk: Debian 12 has Node.js 18; ibm-cloud-sdk-core needs 20")
    ;;
  trixie) packages+=(libcpp-httplib-dev nodejs) ;;
esac

deps_stamp=$(printf '%s\n' "${packages[@]}" | sort | md5sum | cut -c1-32)
if [[ $(cat "$rootfs/.mdfs-deps" 2>/dev/null) != "$deps_stamp" ]]; then
  say "installing build dependencies with apt (${#packages[@]} packages)"
  t=$SECONDS
  in_chroot apt-get update -qq >"$base/apt.log" 2>&1 || { tail -20 "$base/apt.log"; die "apt-get update"; }
  in_chroot apt-get install -y -qq --no-install-recommends "${packages[@]}" >>"$base/apt.log" 2>&1 ||
    { tail -30 "$base/apt.log"; die "apt-get install"; }
  echo "$deps_stamp" >"$rootfs/.mdfs-deps"
  say "dependencies installed in $((SECONDS - t)) s"
fi
in_chroot update-ca-certificates >/dev/null 2>&1 || true

httplib_args=()
if [[ $distro == bullseye ]]; then
  src=/opt/cpp-httplib
  if [[ ! -f $rootfs$src/httplib.h ]]; then
    say "fetching cpp-httplib from Debian 12's source package (apt-get source)"
    echo "deb-src $mirror bookworm main" >"$rootfs/etc/apt/sources.list.d/mdfs-cpp-httplib-src.list"
    in_chroot apt-get update -qq >>"$base/apt.log" 2>&1 || { tail -20 "$base/apt.log"; die "apt-get update (deb-src)"; }
    rm -rf "$rootfs/opt/cpp-httplib-src"
    mkdir -p "$rootfs/opt/cpp-httplib-src"
    in_chroot sh -c 'cd /opt/cpp-httplib-src && apt-get source -qq cpp-httplib/bookworm' >>"$base/apt.log" 2>&1 ||
      { tail -20 "$base/apt.log"; die "apt-get source cpp-httplib/bookworm"; }
    dir=$(find "$rootfs/opt/cpp-httplib-src" -mindepth 2 -maxdepth 2 -name httplib.h -printf '%h\n' | head -1)
    [[ -n $dir ]] || die "no httplib.h in the cpp-httplib source package"
    ln -sfn "${dir#"$rootfs/opt/"}" "$rootfs$src"  # relative: it resolves from outside too
  fi
  httplib_args=("-DMDFS_HTTPLIB_SOURCE_DIR=$src")
fi

# ---------------------------------------------------------------- a clean copy of the tree
say "copying the working tree (tracked and untracked, not ignored) to /src"
rm -rf --one-file-system "$rootfs/src"
mkdir -p "$rootfs/src"
(cd "$root" && git ls-files -z --cached --others --exclude-standard) |
  (cd "$root" && while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done) |
  tar -C "$root" --null -T - -cf - | tar -C "$rootfs/src" -xf -
((clean_build)) && rm -rf --one-file-system "$rootfs/build"

# The conformance test's npm packages (pure JavaScript, pinned by package-lock.json) as
# `npm ci` installs them on this machine: Debian's npm would add some 500 packages to the
# chroot for the same files.
if [[ $distro == trixie ]]; then
  if [[ ! -d $root/tests/conformance/node_modules ]]; then
    say "npm ci in tests/conformance (on this machine)"
    (cd "$root/tests/conformance" && npm ci --no-audit --no-fund --loglevel=error) >/dev/null ||
      die "npm ci in tests/conformance"
  fi
  cp -a "$root/tests/conformance/node_modules" "$rootfs/src/tests/conformance/"
fi

# ---------------------------------------------------------------- build and test inside
httplib_header=/usr/include/httplib.h
[[ $distro == bullseye ]] && httplib_header=/opt/cpp-httplib/httplib.h
# shellcheck disable=SC2016 # expanded inside the chroot
say "toolchain: $(in_chroot bash -c 'printf "gcc %s, cmake %s, libfuse %s, libcurl %s, OpenSSL %s, RapidJSON %s, GoogleTest %s, cpp-httplib %s, Node.js %s" \
  "$(gcc -dumpfullversion)" "$(cmake --version | sed -n "1s/.* //p")" \
  "$(pkg-config --modversion fuse3)" "$(pkg-config --modversion libcurl)" \
  "$(pkg-config --modversion openssl)" "$(dpkg-query -W -f="\${Version}" rapidjson-dev)" \
  "$(dpkg-query -W -f="\${Version}" libgtest-dev)" \
  "$(sed -n "s/^#define CPPHTTPLIB_VERSION \"\(.*\)\"/\1/p" "$1")" "$(node --version 2>/dev/null || echo none)"' \
  bash "$httplib_header")"

ctest_exclude=()
for s in "${skips[@]}"; do
  say "SKIPPED ${s%%:*} (${s#*: })"
  ctest_exclude+=("${s%%:*}")
done
exclude_regex=""
if ((${#ctest_exclude[@]})); then
  exclude_regex="^($(IFS='|'; echo "${ctest_exclude[*]}"))\$"
fi

t=$SECONDS
say "configure and build (/build)"
# Without optimisation and debug information the build takes about half the time; these
# runs prove the sources and the tests on another userland, the host builds prove the
# optimised code. A benchmark run wants the optimised build.
build_args=("${httplib_args[@]}")
if ((bench)); then
  build_args+=(-DMDFS_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
else
  build_args+=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0)
fi
# shellcheck disable=SC2016 # expanded inside the chroot
in_chroot bash -euo pipefail -c '
  cmake -S /src -B /build "$@" >/tmp/configure.log 2>&1 ||
    { cat /tmp/configure.log; exit 1; }
  cmake --build /build -j"$(nproc)" >/build/build.log 2>&1 || { tail -60 /build/build.log; exit 1; }
  grep -E "warning:" /build/build.log | sort -u | head -40 || true
' bash "${build_args[@]}" || die "build"
say "built in $((SECONDS - t)) s"

t=$SECONDS
say "ctest (unit, integration with real mounts, packaging, conformance)"
read -ra user_ctest_args <<<"${CTEST_ARGS:-}"
ctest_rc=0
# shellcheck disable=SC2016 # expanded inside the chroot
in_chroot bash -c 'cd /build && exec ctest --output-on-failure -j"$(($(nproc) * 2))" --timeout 300 "$@"' \
  bash ${exclude_regex:+-E "$exclude_regex"} "${user_ctest_args[@]}" || ctest_rc=$?
say "tests ran in $((SECONDS - t)) s"
((ctest_rc == 0)) || die "ctest exited with status $ctest_rc"

if ((bench)); then
  say "benchmark: concurrent cold lookups in one directory (scripts/bench.sh --only parallel-lookups)"
  in_chroot bash -c 'cd /src && scripts/bench.sh --only parallel-lookups --no-build --build-dir /build' ||
    die "benchmark"
fi
if ((${#skips[@]})); then
  say "passed in $SECONDS s; skipped ${#skips[@]} test(s), listed above with the reason"
else
  say "passed in $SECONDS s; nothing skipped"
fi
