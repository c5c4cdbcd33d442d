#!/usr/bin/env bash
# Build the book, then check every page in headless Chromium, as a reader's browser lays it out
# in a 1280x900 window (a laptop screen, sidebar open):
#   - the math renders offline: every formula is native MathML with a box of its own and no
#     TeX or tag in its visible text, fractions are stacked, no raw $...$ or MathML tag is left in the text, and no page loads anything
#     from the network;
#   - every listing (<pre>) and every table fits the text column: nothing scrolls sideways.
# The number of <math> elements over all pages must equal the number of formulas the
# preprocessor (tools/mdbook-math) reports. It also takes a screenshot of a math-heavy page,
# book/build/check-screenshot.png, to look at.
# Needs mdbook (0.5.4) and Debian's chromium (`apt-get install -y chromium`); exits 1 on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

browser=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$browser" ]; then
  echo "error: chromium not found: install it (apt-get install -y chromium) or set CHROMIUM" >&2
  exit 1
fi
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking
  --disable-component-update --disable-sync --no-first-run --hide-scrollbars
  --window-size=1280,900)
profile=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$profile" "$work"' EXIT

mdbook build book 2>&1 | tee "$work/build.log"
formulas=$(sed -n 's/.*mdbook-math: \([0-9]*\) formulas.*/\1/p' "$work/build.log" | tail -n 1)
if [ -z "$formulas" ]; then
  echo "error: the build log has no 'mdbook-math: N formulas' line: did the preprocessor run?" >&2
  exit 1
fi

failed=0
fail() { echo "FAIL $*"; failed=1; }

# Offline: no script, style sheet or font comes from another host.
if grep -lE '<(script|link)[^>]*(src|href)="(https?:)?//' book/build/*.html; then
  fail "the pages above load a script or style sheet from the network"
fi

cp tools/check-book.js book/build/check-book.js
total_math=0
pages=0
for page in book/build/*.html; do
  name=$(basename "$page" .html)
  # index.html is a copy of the first chapter
  case "$name" in index | print | toc | 404 | *.check) continue ;; esac
  copy="book/build/$name.check.html"
  sed 's#</body>#<script src="check-book.js"></script></body>#' "$page" >"$copy"
  timeout 120 "$browser" "${flags[@]}" --user-data-dir="$profile" --virtual-time-budget=10000 \
    --dump-dom "file://$PWD/$copy" >"$work/$name.dom" 2>"$work/$name.err" || true
  rm -f "$copy"
  result=$(grep -o 'CHECK [^<]*' "$work/$name.dom" | head -n 1 || true)
  if [ -z "$result" ]; then
    fail "$name: the checking script did not run (chromium: $(tail -n 3 "$work/$name.err"))"
    continue
  fi
  pages=$((pages + 1))
  echo "$name: ${result#CHECK }"
  field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" ${result#CHECK }"; }
  math=$(field math)
  total_math=$((total_math + math))
  for bad in math_no_box math_garbled fractions_flat raw_dollar raw_tag pre_overflow table_overflow page_overflow; do
    [ "$(field "$bad")" = 0 ] || fail "$name: $bad=$(field "$bad")"
  done
  if [ "$math" -gt 0 ] && [ "$(field mathml_native)" != 1 ]; then
    fail "$name: the browser did not draw the formulas as MathML"
  fi
  grep "^DETAIL " "$work/$name.dom" | sed -e "s/^/  $name: /" -e "s#</pre>.*##" || true
done
rm -f book/build/check-book.js

echo "pages checked: $pages; <math> elements: $total_math; formulas the preprocessor rendered: $formulas"
[ "$pages" -gt 0 ] || fail "no page was checked"
[ "$total_math" = "$formulas" ] || fail "the pages hold $total_math formulas, the preprocessor rendered $formulas"

timeout 120 "$browser" "${flags[@]}" --user-data-dir="$profile" --window-size=1280,1400 \
  --virtual-time-budget=10000 --screenshot="$PWD/book/build/check-screenshot.png" \
  "file://$PWD/book/build/performance.html" >/dev/null 2>&1 ||
  fail "chromium could not take the screenshot"
[ -s book/build/check-screenshot.png ] && echo "screenshot: book/build/check-screenshot.png"

if [ "$failed" = 0 ]; then echo "book check: ok"; else echo "book check: FAILED"; exit 1; fi
