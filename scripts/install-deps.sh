#!/usr/bin/env bash
# Installs everything metadatafs needs to build, test and demo, from Debian packages and
# (for the conformance test) the npm registry. Idempotent: installs only what is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

# rpm: rpmbuild for `cpack -G RPM` and rpm -qp for its test. debootstrap: the chroots of
# scripts/test-distro.sh.
packages=(
  build-essential cmake pkg-config git
  libfuse3-dev fuse3
  libcurl4-openssl-dev curl ca-certificates
  rapidjson-dev
  libgtest-dev libgmock-dev
  libbenchmark-dev
  libcpp-httplib-dev libssl-dev openssl
  jq procps psmisc util-linux rsync tar grep findutils
  python3 python3-prometheus-client  # .metrics is checked with the reference parser
  man-db groff-base dpkg-dev file
  iproute2 amazon-ec2-utils
  clang libclang-rt-dev  # libFuzzer and clang's sanitizers, for scripts/fuzz.sh
  rpm
  debootstrap
)
# The conformance test runs IBM's Node.js SDK core; use the machine's Node.js if present.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root (or install them)" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages of the conformance test, pinned by its package-lock.json; installed again
# whenever the lock file changed since the last install.
conformance=$here/tests/conformance
if [[ -f $conformance/package.json ]] &&
  ! cmp -s "$conformance/package-lock.json" "$conformance/node_modules/.mdfs-installed-lock"; then
  echo "install-deps: installing the conformance test's npm packages"
  (cd "$conformance" && npm ci --no-audit --no-fund --loglevel=error >/dev/null &&
    cp package-lock.json node_modules/.mdfs-installed-lock)
fi
