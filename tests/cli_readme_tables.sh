#!/usr/bin/env bash
# The README's result tables are copies of report.md sections
# (tools/readme-tables.sh): the committed README must match the committed
# report.md files, and the checker must notice a changed number, a missing
# section and an unclosed marker.
#
# usage: cli_readme_tables.sh PROGRAM SOURCE_DIR
set -u
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-readme-XXXXXX")
trap 'rm -rf "$work"' EXIT
source "$src/tests/checklib.sh"
tool=$src/tools/readme-tables.sh

bash "$tool" >"$work/out" 2>&1
rc=$?
check "README.md matches the report.md sections it copies (exit $rc; tools/readme-tables.sh --write regenerates)" [ "$rc" = 0 ]
check "README.md copies at least 8 sections" [ "$(grep -c '^<!-- report.md: ' "$src/README.md")" -ge 8 ]

# a changed number in a copied table
sed '0,/^| AdaMix | 3 | 0 | 6.918/s//| AdaMix | 3 | 0 | 6.917/' "$src/README.md" >"$work/R1.md"
check "the edit took" not cmp -s "$src/README.md" "$work/R1.md"
bash "$tool" --readme "$work/R1.md" --root "$src" >"$work/o1" 2>&1
rc=$?
check "a changed number: exit 1 (got $rc)" [ "$rc" = 1 ]
check "... with the differing line" grep -q '^-| AdaMix | 3 | 0 | 6.917' "$work/o1"
# --write repairs it
bash "$tool" --readme "$work/R1.md" --root "$src" --write >/dev/null 2>&1
check "--write restores the copy" cmp -s "$src/README.md" "$work/R1.md"

# a section that report.md does not have
printf 'x\n<!-- report.md: results/archive/fig4-adamix-vs-baselines/report.md, section "No such" -->\n<!-- end of report.md section -->\n' >"$work/R2.md"
bash "$tool" --readme "$work/R2.md" --root "$src" >"$work/o2" 2>&1
rc=$?
check "a missing section: exit 1 (got $rc)" [ "$rc" = 1 ]
check "... named, at the marker's line" grep -q 'R2.md:2: .*no section "## No such"' "$work/o2"
printf '<!-- report.md: results/archive/fig4-adamix-vs-baselines/report.md, section "Final and best" -->\n' >"$work/R3.md"
bash "$tool" --readme "$work/R3.md" --root "$src" >"$work/o3" 2>&1
rc=$?
check "an unclosed marker: exit 1 (got $rc)" [ "$rc" = 1 ]
finish
