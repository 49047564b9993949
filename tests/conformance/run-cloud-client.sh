#!/usr/bin/env bash
# Conformance test: one cloud's official Node.js client against build/metadata-emulator
# started as that cloud; the emulator's request counters prove which paths it used.
#   run-cloud-client.sh <path to metadata-emulator> aws|gcp|azure
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
emulator=${1:?usage: run-cloud-client.sh <path to metadata-emulator> aws|gcp|azure}
cloud=${2:?usage: run-cloud-client.sh <path to metadata-emulator> aws|gcp|azure}

fail() { echo "conformance ($cloud): $*" >&2; exit 1; }
command -v node >/dev/null || fail "node is not installed (scripts/install-deps.sh installs it)"
declare -A package=([aws]=@aws-sdk/ec2-metadata-service [gcp]=gcp-metadata [azure]=@azure/identity)
[[ -n ${package[$cloud]:-} ]] || fail "unknown cloud '$cloud'"
[[ -d $here/node_modules/${package[$cloud]} ]] ||
  fail "${package[$cloud]} is not installed: run 'npm ci' in tests/conformance (scripts/install-deps.sh does)"
version=$(node -p "require('$here/node_modules/${package[$cloud]}/package.json').version")

# shellcheck source=SCRIPTDIR/emulator.sh
source "$here/emulator.sh"
start_emulator "$emulator" --cloud "$cloud"

expect_used() { # expect_used "METHOD /path" — the client sent at least one such request
  local n
  n=$(request_count "$1")
  ((n > 0)) || fail "the client never sent $1"
  echo "ok: $1 ($n)"
}

case $cloud in
  aws)
    node "$here/aws-sdk.js" "$url"
    # MetadataService joins the endpoint's path ("/") and the request path ("/latest/…"),
    # so its GETs arrive as "//latest/…" (the token PUT's path is fixed).
    expect_used "PUT /latest/api/token"
    expect_used "GET //latest/meta-data/instance-id"
    expect_used "GET //latest/dynamic/instance-identity/document"
    ;;
  gcp)
    GCE_METADATA_HOST="127.0.0.1:$port" node "$here/gcp-metadata.js" "$url"
    expect_used "GET /computeMetadata/v1/instance/hostname"
    expect_used "GET /computeMetadata/v1/instance"
    expect_used "GET /computeMetadata/v1/project/project-id"
    ;;
  azure)
    client_id=$(curl -sf "$url/_emulator/data?pointer=/managed_identity/client_id" | tr -d '"')
    AZURE_POD_IDENTITY_AUTHORITY_HOST="$url" node "$here/azure-identity.js"
    AZURE_POD_IDENTITY_AUTHORITY_HOST="$url" node "$here/azure-identity.js" "$client_id"
    # msal-node canonicalizes the overridden host into ".../oauth2/token/".
    expect_used "GET /metadata/identity/oauth2/token/"
    ;;
esac
echo "conformance: ${package[$cloud]} $version passed"
