#!/usr/bin/env bash
# Conformance test: IBM's Node.js SDK core gets IAM tokens from build/metadata-emulator.
#   run-node-sdk.sh <path to metadata-emulator>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
emulator=${1:?usage: run-node-sdk.sh <path to metadata-emulator>}

fail() { echo "conformance: $*" >&2; exit 1; }
command -v node >/dev/null || fail "node is not installed (scripts/install-deps.sh installs it)"
major=$(node -p 'process.versions.node.split(".")[0]')
((major >= 20)) || fail "node $(node --version) is too old; ibm-cloud-sdk-core needs 20 or later"
[[ -d $here/node_modules/ibm-cloud-sdk-core ]] ||
  fail "ibm-cloud-sdk-core is not installed: run 'npm ci' in tests/conformance (scripts/install-deps.sh does)"

# shellcheck source=SCRIPTDIR/emulator.sh
source "$here/emulator.sh"
start_emulator "$emulator"

crn=$(curl -sf "$url/_emulator/scenario" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    console.log(JSON.parse(s).linked_trusted_profiles[0].crn);
  });')

node "$here/vpc-authenticator.js" "$url" 2022-03-01
node "$here/vpc-authenticator.js" "$url" 2025-08-26
node "$here/vpc-authenticator.js" "$url" 2025-08-26 --profile-crn "$crn"
node "$here/vpc-authenticator.js" "$url" 2022-03-01 --profile-id "${crn##*::profile:}"
node "$here/vpc-authenticator.js" "$url" --unlinked
echo "conformance: ibm-cloud-sdk-core $(node -p 'require("'"$here"'/node_modules/ibm-cloud-sdk-core/package.json").version') passed"
