#!/usr/bin/env bash
# report.html (docs/design.md, "Files written"): written with the other reports, one
# self-contained page (no script, no remote resource), user text escaped;
# rendered in a real browser (Debian's chromium, headless): the rendered DOM
# has the figure and every table, and a screenshot is taken. The browser part
# is skipped, with a message, where chromium is not installed
# (tools/setup.sh --browser installs it; CI does).
#
# usage: cli_html.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-html-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1
source "$src/tests/checklib.sh"

exp=$work/smoke.yaml
sed "s|dir: tests/data|dir: $src/tests/data|" "$src/tests/experiments/smoke.yaml" >"$exp"
# a hostile title and description: markup that must come out as text
"$prog" -q -o out "$exp" report.baseline=constant 'report.targets=[200, 60]' \
    'report.title=<script>alert(1)</script> & "Smoke" <b>' \
    "description=runs <i>of</i> the 'smoke' test" >run.txt 2>&1
page=out/report.html
check "report.html is written with the other reports" [ -s "$page" ]
check "no script element" not grep -qi "<script" "$page"
check "no remote resource" not grep -Eqi '(src|href)="(https?:)?//' "$page"
check "the title escaped" grep -qF '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Smoke&quot; &lt;b&gt;' "$page"
check "the description escaped" grep -qF 'runs &lt;i&gt;of&lt;/i&gt; the &#39;smoke&#39; test' "$page"
check "the figure inlined as SVG" grep -q "<svg" "$page"
check "three paper tables" [ "$(grep -c '<section class="table"' "$page")" = 3 ]
check "the manifest: BLAS kernel and data checksums" grep -q "<th>SHA-256 of .*fixture-images-idx3-ubyte.gz</th>" "$page"
check "one row per run, linked to its folder" [ "$(grep -c '<tr><td><a href="runs/' "$page")" = 4 ]
check "the experiment text" grep -qF "name: smoke" "$page"
# pictures: the first repeat of each point draws them (libpng)
pics=$(ls out/runs/*/gallery.png 2>/dev/null | wc -l)
check "gallery.png for the first repeat of each of the 2 points (got $pics)" [ "$pics" = 2 ]
check "filters.png beside each" [ "$(ls out/runs/*/filters.png 2>/dev/null | wc -l)" = 2 ]
g=$(ls out/runs/*/gallery.png | head -1)
check "gallery.png is a PNG" bash -c "head -c 8 '$g' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"
# IHDR width and height: 16 images of 28 x 28 at 2x with 2-pixel gaps: 16*56 + 17*2 = 930
# wide, 3 rows: 3*56 + 4*2 = 176 high
wh=$(od -An -tu1 -j16 -N8 "$g" | tr -s ' ' | sed 's/^ //')
check "gallery.png is 930 x 176 (got bytes $wh)" [ "$wh" = "0 0 3 162 0 0 0 176" ]
f=$(ls out/runs/*/filters.png | head -1)
# 32 hidden units of the smoke network: 4 rows of 10 tiles of 28 x 28, gaps of 2
wh=$(od -An -tu1 -j16 -N8 "$f" | tr -s ' ' | sed 's/^ //')
check "filters.png is 302 x 122 (got bytes $wh)" [ "$wh" = "0 0 1 46 0 0 0 122" ]
check "the page shows both pictures of both points" [ "$(grep -c '<figure><img src="runs/' "$page")" = 4 ]
rm "$page"
"$prog" report out >rep.txt 2>&1
check "adamix-run report writes it again" [ -s "$page" ]

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "skipped: the browser checks (chromium is not installed; tools/setup.sh --browser installs it)"
    finish
    exit $?
fi
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --user-data-dir="$work/profile" --window-size=1280,2400)
timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$work/$page" >dom.html 2>browser.log
rc=$?
check "chromium renders the page (exit $rc)" [ "$rc" = 0 ]
check "rendered: the figure's svg element" grep -q "<svg" dom.html
check "rendered: the figure has its lines (paths)" [ "$(grep -c "<path" dom.html)" -ge 4 ]
for id in table-1 table-2 table-3 pictures manifest runs experiment; do
    check "rendered: section $id with its content" grep -q "id=\"$id\"" dom.html
done
check "rendered: the paired table has AdaMix against constant" \
    grep -q "<td>AdaMix</td><td class=\"num\">2</td>" dom.html
check "rendered: the title is text, not markup" grep -qF "&lt;script&gt;alert(1)" dom.html
timeout 120 "$browser" "${flags[@]}" --screenshot="$work/shot.png" "file://$work/$page" >shot.log 2>&1
check "a screenshot is taken" [ -s shot.png ]
check "the screenshot is a PNG" bash -c "head -c 8 shot.png | od -An -tx1 | grep -q '89 50 4e 47'"
[ -n "${ADAMIX_KEEP_SCREENSHOT:-}" ] && cp shot.png "$ADAMIX_KEEP_SCREENSHOT"
finish
