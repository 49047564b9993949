#!/usr/bin/env bash
# The curl examples of IBM's page "Use the instance metadata service" (token, IAM token,
# initialization, instance, keys, placement groups; version 2024-11-12), run against
# build/metadata-emulator. The commands are copied verbatim, host name included: the
# curl() wrapper below only adds --connect-to, so api.metadata.cloud.ibm.com:80 reaches
# the emulator, and -sS to keep the progress meter out of the test log.
#   ibm-curl-examples.sh <path to metadata-emulator>
# shellcheck disable=SC2006 # the IBM page's commands are kept verbatim, backticks included
set -euo pipefail
emulator=${1:?usage: ibm-curl-examples.sh <path to metadata-emulator>}

fail() { echo "curl examples: $*" >&2; exit 1; }
check() { # check <description> <jq boolean expression> <json>
  jq -e "$2" >/dev/null <<<"$3" || fail "$1: '$2' is false for: ${3:0:400}"
  echo "ok: $1"
}
command -v jq >/dev/null || fail "jq is not installed"

# shellcheck source=SCRIPTDIR/emulator.sh
source "$(dirname "$0")/emulator.sh"
start_emulator "$emulator"

curl() { command curl -sS --connect-to "api.metadata.cloud.ibm.com:80:127.0.0.1:$port" "$@"; }

# --- Acquire an instance identity access token (verbatim) ---------------------------
instance_identity_token=`curl -X PUT "http://api.metadata.cloud.ibm.com/instance_identity/v1/token?version=2024-11-12"\
  -H "Metadata-Flavor: ibm"\
  -d '{
        "expires_in": 3600
      }' | jq -r '(.access_token)'`

[[ $instance_identity_token =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] ||
  fail "token: not a JWT: '$instance_identity_token'"
echo "ok: identity token is a JWT"
# The page's later examples read the token from $access_token.
access_token=$instance_identity_token

# --- Generate an IAM token from an instance identity access token (verbatim) --------
iam_token=`curl -X POST "http://api.metadata.cloud.ibm.com/instance_identity/v1/iam_token?version=2024-11-12"\
   -H "Authorization: Bearer $instance_identity_token"\
   -d '{
       "trusted_profile": {
          "id": "Profile-8dd84246-7df4-4667-94e4-8cede51d5ac5"
       }
      }' | jq -r '(.access_token)'`

claims=$(jq -rR 'split(".")[1] | gsub("-"; "+") | gsub("_"; "/") | @base64d' <<<"$iam_token")
check "IAM token is for the requested trusted profile" \
  '.sub == "Profile-8dd84246-7df4-4667-94e4-8cede51d5ac5" and .sub_type == "Profile" and (.exp - .iat) == 3600' \
  "$claims"
[[ $(command curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $iam_token" \
  "http://127.0.0.1:$port/_emulator/iam/check") == 200 ]] || fail "IAM token: the emulator does not accept it"
echo "ok: the emulator accepts the IAM token"

# --- Retrieve instance initialization information (verbatim) -------------------------
initialization=$(
curl -X GET "http://api.metadata.cloud.ibm.com/metadata/v1/instance/initialization?version=2024-11-12"\
  -H "Accept: application/json"\
  -H "Authorization: Bearer $access_token" | jq -r
)
check "initialization has the multipart cloud-config user data" \
  '(.user_data | startswith("Content-Type: multipart/form-data; boundary=3efa30189c9e0e8ebc24a4decbbf4c2be7b26120c1cdd7cb7bc2ecb0c07c\nMIME-Version: 1.0\n")) and (.user_data | endswith("c07c--")) and (.user_data | contains("#cloud-config\ndisable_root: false\n"))' \
  "$initialization"
check "initialization lists the SSH keys with fingerprints" \
  '(.keys | length) == 2 and all(.keys[]; .fingerprint | startswith("SHA256:"))' "$initialization"

# --- Retrieve instance information (verbatim) ----------------------------------------
instance=$(
curl -X GET "http://api.metadata.cloud.ibm.com/metadata/v1/instance?version=2024-11-12"\
  -H "Accept:application/json"\
  -H "Authorization: Bearer $access_token"
)
check "instance has its name, profile, zone, VPC and volume attachments" \
  '.name == "web-frontend-01" and .resource_type == "instance" and .profile.name == "bx2-4x16" and .zone.name == "us-south-1" and .vpc.resource_type == "vpc" and (.volume_attachments | length) == 2 and (.network_interfaces | length) == 2' \
  "$instance"

# --- Retrieve metadata about SSH keys (verbatim) --------------------------------------
keys=$(
curl -X GET "http://api.metadata.cloud.ibm.com/metadata/v1/keys?version=2024-11-12"\
  -H "Accept:application/json"\
  -H "Authorization: Bearer $access_token" | jq -r
)
check "keys lists an ed25519 and an rsa key" \
  '([.keys[].type] | sort) == ["ed25519", "rsa"] and all(.keys[]; .public_key | startswith("ssh-"))' "$keys"
key_id=$(jq -r '.keys[0].id' <<<"$keys")
one_key=$(curl -X GET "http://api.metadata.cloud.ibm.com/metadata/v1/keys/$key_id?version=2024-11-12" \
  -H "Accept:application/json" -H "Authorization: Bearer $access_token")
check "keys/{id} returns that key" ".id == \"$key_id\"" "$one_key"

# --- Retrieve metadata about placement groups (verbatim) ------------------------------
placement_groups=$(
curl -X GET "http://api.metadata.cloud.ibm.com/metadata/v1/placement_groups?version=2024-11-12"\
  -H "Accept:application/json"\
  -H "Authorization: Bearer $access_token"\
  --data-urlencode "version=2024-11-12"\
  -d '{
        "start": "first",
        "limit": 50
     }' | jq -r
)
check "placement groups: first page of 50 with the total count" \
  '.limit == 50 and .total_count == 6 and (.placement_groups | length) == 6 and (.first.href | endswith("/metadata/v1/placement_groups?limit=50")) and (has("next") | not)' \
  "$placement_groups"
pg_id=$(jq -r '.placement_groups[0].id' <<<"$placement_groups")
one_pg=$(curl -X GET "http://api.metadata.cloud.ibm.com/metadata/v1/placement_groups/$pg_id?version=2024-11-12" \
  -H "Accept:application/json" -H "Authorization: Bearer $access_token")
check "placement_groups/{id} returns that group" ".id == \"$pg_id\"" "$one_pg"

echo "curl examples: all passed"
