#!/usr/bin/env bash
# Every link of README.md and docs/*.md to a file of the repository, or to a
# section of one (#anchor, as GitHub makes it from the heading), points at
# something that exists: a page renamed, a heading reworded or a results
# folder moved must take its links along. Links to other sites are not
# followed (no network in the tests).
#
# usage: cli_doc_links.sh PROGRAM SOURCE_DIR [FILE.md...]
#   (FILE.md: check those instead; the test's own cases use it)
set -u
src=$2
shift 2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-links-XXXXXX")
trap 'rm -rf "$work"' EXIT
source "$src/tests/checklib.sh"

# check_links FILE...: prints "FILE:LINE: broken link TARGET (why)" per bad link
check_links() {
    python3 - "$@" <<'PY'
import os, re, sys, unicodedata

def slug(text):
    # GitHub's anchors: the heading's text without markup, lower case,
    # punctuation dropped (letters, digits, '-', '_' and spaces kept),
    # spaces made '-'
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.strip().lower()
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "-_" or cat[0] in "LN" or cat == "Mn":
            out.append(ch)
        elif ch == " ":
            out.append("-")
    return "".join(out)

anchors_cache = {}
def anchors(path):
    if path not in anchors_cache:
        seen, found, fence = {}, set(), False
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.lstrip().startswith("```"):
                    fence = not fence
                    continue
                m = None if fence else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
                if not m:
                    for a in re.findall(r'<a\s+(?:name|id)="([^"]+)"', line):
                        found.add(a)
                    continue
                s = slug(m.group(1))
                n = seen.get(s, 0)
                seen[s] = n + 1
                found.add(s if n == 0 else "%s-%d" % (s, n))
        anchors_cache[path] = found
    return anchors_cache[path]

bad = 0
link = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
for page in sys.argv[1:]:
    base = os.path.dirname(page)
    fence = False
    with open(page, encoding="utf-8") as f:
        lines = f.readlines()
    for no, line in enumerate(lines, 1):
        if line.lstrip().startswith("```"):
            fence = not fence
            continue
        if fence:
            continue
        code_free = re.sub(r"`[^`]*`", "", line)
        for target in link.findall(code_free):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, mailto:
                continue
            path, _, anchor = target.partition("#")
            full = os.path.normpath(os.path.join(base, path)) if path else page
            if not os.path.exists(full):
                print("%s:%d: broken link %s (no such file)" % (page, no, target))
                bad += 1
            elif anchor and full.endswith(".md") and anchor not in anchors(full):
                print("%s:%d: broken link %s (no such section in %s)" % (page, no, target, full))
                bad += 1
sys.exit(1 if bad else 0)
PY
}

if [ $# -gt 0 ]; then
    check_links "$@"
    exit
fi
if ! command -v python3 >/dev/null; then
    echo "SKIP: python3 is not installed"
    exit 0
fi

check_links "$src/README.md" "$src"/docs/*.md >"$work/out" 2>&1
rc=$?
cat "$work/out"
check "README.md and docs/*.md: every link to a file or section resolves (exit $rc)" [ "$rc" = 0 ]
check "the pages hold links to check" [ "$(cat "$src/README.md" "$src"/docs/*.md | grep -c '](')" -ge 20 ]

# the checker itself: a missing page, a missing section, a good section, a
# link inside code (not a link), a second heading of the same name
mkdir -p "$work/t/docs"
cat >"$work/t/docs/other.md" <<'MD'
# Other

## The `report` section (as said)

## Twice

## Twice
MD
printf '%s\n' '# Page' '[ok](docs/other.md#the-report-section-as-said)' \
    '[ok too](docs/other.md#twice-1)' '`[not a link](nowhere.md)`' '[self](#page)' >"$work/t/good.md"
check_links "$work/t/good.md" >"$work/o1" 2>&1
check "the checker passes good links (got: $(cat "$work/o1"))" [ ! -s "$work/o1" ]
printf '%s\n' '# Page' '[gone](docs/gone.md)' '[no section](docs/other.md#thrice)' >"$work/t/bad.md"
check_links "$work/t/bad.md" >"$work/o2" 2>&1
rc=$?
check "the checker fails bad links (exit $rc)" [ "$rc" = 1 ]
check "a missing file is named" grep -q "bad.md:2: broken link docs/gone.md (no such file)" "$work/o2"
check "a missing section is named" grep -q "bad.md:3: broken link docs/other.md#thrice (no such section" "$work/o2"
finish
