#!/usr/bin/env bash
# Renders a run's report in headless Chromium (Debian's `chromium`) at 1280×800 and checks it:
# the page loads from the file alone, logs no console message (the report has no script; a
# failed resource or a parse problem would be logged), and its DOM holds every chart `amalgam
# report` draws for the run. Writes the screenshot (kept out of git) and prints what it checked.
# Usage: tools/report_screenshot.sh RUN [SCREENSHOT.png]   (from the repository root, after `make build`)
set -euo pipefail
run=${1:?usage: tools/report_screenshot.sh RUN [SCREENSHOT.png]}
shot=${2:-$run/report.png}
if ! command -v chromium >/dev/null; then
  echo "installing chromium"
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi
report="$run/report.html"
.build/release/amalgam report "$run" --out "$report"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,800 --user-data-dir="$work/profile"
       --enable-logging=stderr --v=1)
url="file://$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
timeout 120 chromium "${flags[@]}" --screenshot="$shot" "$url" 2> "$work/log.txt" >/dev/null
timeout 120 chromium "${flags[@]}" --dump-dom "$url" 2>> "$work/log.txt" > "$work/dom.html"
# Console messages (console.*, uncaught errors) are logged as ":CONSOLE:line]" at verbosity 1.
if grep -q ":CONSOLE" "$work/log.txt"; then
  echo "console messages while rendering $report:" >&2
  grep ":CONSOLE" "$work/log.txt" >&2
  exit 1
fi
missing=0
for id in front-holdout convergence recipe-weight front-table; do
  if ! grep -q "id=\"$id\"" "$work/dom.html"; then echo "the rendered page has no #$id" >&2; missing=1; fi
done
[ "$missing" = 0 ] || exit 1
[ -s "$shot" ] || { echo "no screenshot written" >&2; exit 1; }
charts=$(grep -o '<svg[^>]*id="[^"]*"' "$work/dom.html" | sed 's/.*id="\([^"]*\)"/\1/' | tr '\n' ' ')
echo "rendered $report at 1280x800 without console messages; charts: $charts; screenshot $shot"
