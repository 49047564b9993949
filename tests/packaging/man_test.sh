#!/usr/bin/env bash
# metadatafs(8) renders without a single groff or man warning, both the source and the
# compressed copy that is installed, and documents every option, flag and default that
# `metadatafs --help` lists, so the two cannot drift apart.
#
#   man_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"

page=$source_dir/packaging/metadatafs.8
gz=$build/packaging/metadatafs.8.gz
[[ -f $gz ]] || fail "$gz was not built"
cmp -s <(gzip -dc "$gz") "$page" || fail "$gz is not the compressed $page"

echo "== groff -man -ww -z"
out=$(groff -man -ww -z "$page" 2>&1) || fail "groff failed: $out"
[[ -z $out ]] || fail "groff warnings:
$out"

for f in "$page" "$gz"; do
  for width in 80 200; do
    echo "== man --warnings -l $(basename "$f"), MANWIDTH=$width"
    out=$(MANWIDTH=$width man --warnings -l "$f" 2>&1 >/dev/null) || fail "man -l failed: $out"
    [[ -z $out ]] || fail "man warnings at width $width:
$out"
  done
done
# A plain ASCII rendering, wide enough that nothing is broken across lines.
text=$(LC_ALL=C MANWIDTH=250 man -l "$page" 2>/dev/null)
for section in NAME SYNOPSIS DESCRIPTION OPTIONS "CONFIGURATION FILE" "THE TREE" CONSISTENCY \
  SIGNALS ERRORS DIAGNOSTICS "EXIT STATUS" "MOUNTING AT BOOT" FILES EXAMPLES "SEE ALSO"; do
  grep -qx "$section" <<<"$text" || fail "no section $section"
done

echo "== every option and default of metadatafs --help"
help=$("$build/metadatafs" --help)
options=$(grep -oE '^ +-o [a-z_.A-Z]+' <<<"$help" | sed 's/^ *-o //' | sort -u)
[[ $(wc -l <<<"$options") -ge 18 ]] || fail "could not read the options from --help"
for option in $options; do
  grep -qE "(^|[^a-z_])$option([^a-z_]|$)" <<<"$text" || fail "option $option is not in the man page"
done
for flag in -f -d -h --help -V --version; do
  grep -qE "(^| )$flag([ ,]|$)" <<<"$text" || fail "flag $flag is not in the man page"
done
defaults=$(grep -oE '\[[^]]+\]$' <<<"$help" | sort -u)
[[ $(wc -l <<<"$defaults") -ge 10 ]] || fail "could not read the defaults from --help"
while IFS= read -r default; do
  grep -qF "$default" <<<"$text" || fail "default $default is not in the man page"
done <<<"$defaults"
# The fstab line of --help is the documented one.
fstab=$(sed -n 's/^In \/etc\/fstab: *//p' <<<"$help")
grep -qF "$fstab" <<<"$text" || fail "the fstab line '$fstab' is not in the man page"
echo "PASS"
