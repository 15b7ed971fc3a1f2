#!/usr/bin/env bash
# The result tables of README.md and docs/*.md are copies of report.md
# sections (tools/readme-tables.sh): the committed pages must match the
# committed report.md files, and the checker must notice a changed number (in
# the README and in a page of docs/), a missing section and an unclosed
# marker.
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
check "README.md and docs/*.md match the report.md sections they copy (exit $rc; tools/readme-tables.sh --write regenerates)" [ "$rc" = 0 ]
check "README.md copies at least 1 section" [ "$(grep -c '^<!-- report.md: ' "$src/README.md")" -ge 1 ]
check "README.md and docs/*.md copy at least 8 sections" \
    [ "$(cat "$src/README.md" "$src"/docs/*.md | grep -c '^<!-- report.md: ')" -ge 8 ]
check "every page with a copy was checked" \
    grep -q "in $((1 + $(grep -l '^<!-- report.md: ' "$src"/docs/*.md | wc -l))) files" "$work/out"

# a changed number in a copied table
sed '0,/^| AdaMix | 5 | 0 | 3.365/s//| AdaMix | 5 | 0 | 3.364/' "$src/README.md" >"$work/R1.md"
check "the edit took" not cmp -s "$src/README.md" "$work/R1.md"
bash "$tool" --readme "$work/R1.md" --root "$src" >"$work/o1" 2>&1
rc=$?
check "a changed number: exit 1 (got $rc)" [ "$rc" = 1 ]
check "... with the differing line" grep -q '^-| AdaMix | 5 | 0 | 3.364' "$work/o1"
# --write repairs it
bash "$tool" --readme "$work/R1.md" --root "$src" --write >/dev/null 2>&1
check "--write restores the copy" cmp -s "$src/README.md" "$work/R1.md"

# a changed number in a page of docs/, found without --readme
mkdir -p "$work/root/docs"
cp "$src/README.md" "$work/root/"
cp "$src"/docs/*.md "$work/root/docs/"
ln -s "$src/results" "$work/root/results"
sed -i '0,/^| AdaMix | 5 | 0 | 3.365/s//| AdaMix | 5 | 0 | 3.366/' "$work/root/docs/paper.md"
check "the edit of docs/paper.md took" not cmp -s "$src/docs/paper.md" "$work/root/docs/paper.md"
bash "$tool" --root "$work/root" >"$work/o4" 2>&1
rc=$?
check "a changed number in docs/paper.md: exit 1 (got $rc)" [ "$rc" = 1 ]
check "... naming docs/paper.md" grep -q 'docs/paper.md differs' "$work/o4"
bash "$tool" --root "$work/root" --write >/dev/null 2>&1
check "--write restores docs/paper.md" cmp -s "$src/docs/paper.md" "$work/root/docs/paper.md"

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
