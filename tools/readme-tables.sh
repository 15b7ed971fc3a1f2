#!/usr/bin/env bash
# The result tables of README.md and docs/*.md are copies of sections of the
# report.md files that adamix-run writes (and `adamix-run report DIR`
# rewrites). Each copy sits between two marker lines:
#
#   <!-- report.md: results/paper/fig4-full-mnist/report.md, section "Final and best" -->
#
#   ... the section's text, without its "## " heading ...
#
#   <!-- end of report.md section -->
#
# The section is the one whose heading starts with "## " and the given words,
# up to the next "## " heading; the report.md path is from the repository's
# root, wherever the copy lives.
#
#   tools/readme-tables.sh            check README.md and every docs/*.md: exit 1
#                                     and a diff when a copy differs
#   tools/readme-tables.sh --write    rewrite them with fresh copies
#   tools/readme-tables.sh --readme FILE [--root DIR]   one other file (tests)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readme=
write=0
while [ $# -gt 0 ]; do
    case "$1" in
    --write) write=1 ;;
    --readme)
        readme=$2
        shift
        ;;
    --root)
        root=$2
        shift
        ;;
    -h | --help)
        sed -n '2,/^set /p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "readme-tables: unknown option '$1' (try --help)" >&2
        exit 2
        ;;
    esac
    shift
done
if [ -n "$readme" ]; then
    files=("$readme")
else
    files=("$root/README.md")
    for f in "$root"/docs/*.md; do
        grep -q '^<!-- report.md: ' "$f" && files+=("$f")
    done
fi
for f in "${files[@]}"; do
    [ -f "$f" ] || {
        echo "readme-tables: $f: no such file" >&2
        exit 2
    }
done

out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
n=0
for readme in "${files[@]}"; do
    # awk does the copying; a missing report.md or section is an error naming the
    # README line of its marker
    if ! awk -v root="$root" -v readme="$readme" '
        function fail(msg) { printf "%s:%d: %s\n", readme, NR, msg > "/dev/stderr"; bad = 1; exit 1 }
        function section(file, name,    line, on, n, i, buf, got) {
            n = 0; on = 0; got = 0
            while ((getline line < file) > 0) {
                if (line ~ /^## /) {
                    if (on) break
                    if (index(line, "## " name) == 1) { on = 1; got = 1; continue }
                }
                if (on) buf[++n] = line
            }
            close(file)
            if (!got) return -1
            while (n > 0 && buf[n] == "") n--
            i = 1
            while (i <= n && buf[i] == "") i++
            print ""
            for (; i <= n; i++) print buf[i]
            print ""
            return 0
        }
        /^<!-- report.md: / {
            print
            if (!match($0, /report.md: [^,]+,/)) fail("marker without a file: " $0)
            file = substr($0, RSTART + 11, RLENGTH - 12)
            if (!match($0, /section "[^"]+"/)) fail("marker without a section: " $0)
            name = substr($0, RSTART + 9, RLENGTH - 10)
            path = file ~ /^\// ? file : root "/" file
            if ((getline probe < path) < 0) fail(file ": no such file (run adamix-run report on its folder)")
            close(path)
            if (section(path, name) < 0) fail(file ": no section \"## " name "\"")
            skipping = 1
            next
        }
        /^<!-- end of report.md section -->/ { skipping = 0; print; next }
        !skipping { print }
        END { if (!bad && skipping) { printf "%s: a report.md marker is not closed\n", readme > "/dev/stderr"; exit 1 } }
    ' "$readme" >"$out"; then
        status=1
        continue
    fi
    n=$((n + $(grep -c '^<!-- report.md: ' "$readme")))
    if [ "$write" = 1 ]; then
        cmp -s "$out" "$readme" || cp "$out" "$readme"
        echo "readme-tables: $readme is up to date with its report.md sections"
        continue
    fi
    if ! diff -u "$readme" "$out" >&2; then
        echo "readme-tables: $readme differs from the report.md sections it copies (above);" \
            "rerun tools/readme-tables.sh --write" >&2
        status=1
    fi
done
[ "$status" = 0 ] || exit 1
[ "$write" = 1 ] || echo "readme-tables: every copied table ($n in ${#files[@]} files) matches its report.md"
