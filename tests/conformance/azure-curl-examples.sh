#!/usr/bin/env bash
# The curl examples of Microsoft's page "Azure Instance Metadata Service" (Linux tabs,
# api-version 2025-04-07), of "How to use managed identities for Azure resources on an
# Azure VM to acquire an access token" and of "Scheduled Events for Linux VMs", run
# against build/metadata-emulator --cloud azure. The commands are copied verbatim, address
# included: the curl() wrapper below only adds --connect-to, so 169.254.169.254:80
# reaches the emulator, and -sS to keep the progress meter out of the test log.
#   azure-curl-examples.sh <path to metadata-emulator>
set -euo pipefail
emulator=${1:?usage: azure-curl-examples.sh <path to metadata-emulator>}

fail() { echo "azure curl examples: $*" >&2; exit 1; }
check() { # check <description> <jq boolean expression> <json>
  jq -e "$2" >/dev/null <<<"$3" || fail "$1: '$2' is false for: ${3:0:400}"
  echo "ok: $1"
}
same() { # same <description> <expected> <actual>
  [[ $2 == "$3" ]] || fail "$1: expected '$2', got '${3:0:400}'"
  echo "ok: $1"
}
command -v jq >/dev/null || fail "jq is not installed"

# shellcheck source=SCRIPTDIR/emulator.sh
source "$(dirname "$0")/emulator.sh"
start_emulator "$emulator" --cloud azure
scenario=$(command curl -sf "$url/_emulator/scenario")
compute=$(jq -c '.metadata.instance.compute' <<<"$scenario")

curl() { command curl -sS --connect-to "169.254.169.254:80:127.0.0.1:$port" "$@"; }

# --- Access Azure Instance Metadata Service (verbatim) --------------------------------
all=$(curl -s -H Metadata:true --noproxy "*" "http://169.254.169.254/metadata/instance?api-version=2025-04-07" | jq)
check "the instance document" ".compute.vmId == $(jq '.vmId' <<<"$compute") and
  (.network.interface[0].ipv4.ipAddress[0].privateIpAddress | length > 0)" "$all"

# --- Data format: text (verbatim) ------------------------------------------------------
text=$(curl -s -H Metadata:true --noproxy "*" "http://169.254.169.254/metadata/instance?api-version=2025-04-07&format=text")
same "format=text on the instance names its parts" $'compute/\nnetwork/' "$text"

# --- Get user data (verbatim) ----------------------------------------------------------
user_data=$(curl -H Metadata:true --noproxy "*" "http://169.254.169.254/metadata/instance/compute/userData?api-version=2025-04-07&format=text" | base64 --decode)
same "userData decodes from base64" "$(jq -r '.userData' <<<"$compute" | base64 --decode)" "$user_data"
[[ $user_data == "#cloud-config"* ]] || fail "userData: not the scenario's cloud-config"

# --- Sample 1: Tracking VM running on Azure (verbatim) ---------------------------------
vm_id=$(curl -H Metadata:true --noproxy "*" "http://169.254.169.254/metadata/instance/compute/vmId?api-version=2025-04-07&format=text")
same "vmId as text" "$(jq -r '.vmId' <<<"$compute")" "$vm_id"

# --- Sample 2: Placement of different data replicas (verbatim) -------------------------
fault_domain=$(curl -H Metadata:true --noproxy "*" "http://169.254.169.254/metadata/instance/compute/platformFaultDomain?api-version=2025-04-07&format=text")
same "platformFaultDomain as text" "$(jq -r '.platformFaultDomain' <<<"$compute")" "$fault_domain"

# --- Sample 3: Get VM tags (verbatim) --------------------------------------------------
tags=$(curl -H Metadata:true --noproxy "*" "http://169.254.169.254/metadata/instance/compute/tags?api-version=2025-04-07&format=text")
same "tags as text" "$(jq -r '.tags' <<<"$compute")" "$tags"
tags_list=$(curl -H Metadata:true --noproxy "*" "http://169.254.169.254/metadata/instance/compute/tagsList?api-version=2025-04-07" | jq)
check "tagsList as JSON" ". == $(jq -c '.tagsList' <<<"$compute")" "$tags_list"

# --- Sample 4: compute metadata for a support case (verbatim) --------------------------
compute_json=$(curl -H Metadata:true --noproxy "*" "http://169.254.169.254/metadata/instance/compute?api-version=2025-04-07")
check "the compute document" ". == $compute" "$compute_json"

# --- Managed identity: get a token using curl (verbatim) -------------------------------
token=$(curl 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F' -H Metadata:true -s)
check "a managed-identity token" '.token_type == "Bearer" and .resource == "https://management.azure.com/" and
  (.access_token | split(".") | length == 3) and (.expires_on | tonumber) > now' "$token"

# --- Scheduled events: query for events (verbatim) -------------------------------------
events=$(curl -H Metadata:true http://169.254.169.254/metadata/scheduledevents?api-version=2020-07-01)
check "scheduled events" ".DocumentIncarnation == $(jq '.metadata.scheduledevents.DocumentIncarnation' <<<"$scenario") and
  (.Events | length) == $(jq '.metadata.scheduledevents.Events | length' <<<"$scenario")" "$events"

# --- What the page says is refused ------------------------------------------------------
status=$(curl -s -o /dev/null -w '%{http_code}' "http://169.254.169.254/metadata/instance?api-version=2025-04-07")
same "no Metadata header: 400" 400 "$status"
status=$(curl -s -o /dev/null -w '%{http_code}' -H Metadata:true "http://169.254.169.254/metadata/instance")
same "no api-version: 400" 400 "$status"
echo "azure curl examples: passed"
