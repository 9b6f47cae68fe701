#!/usr/bin/env bash
# Opens a zoo report (report.html) in headless Chromium and saves a screenshot of it.
#
#   tools/screenshot_report.sh runs/compare-mnist-lstm-.../report.html [shot.png] [WIDTHxHEIGHT]
#
# Needs Debian's chromium (`apt-get install chromium`). Fails (exit 1) when Chromium reports an
# error loading the page (a console error, a failed resource) or writes no screenshot; the page is
# self-contained, so nothing is fetched from a network.
set -euo pipefail

page=${1:?usage: tools/screenshot_report.sh REPORT.html [SHOT.png] [WIDTHxHEIGHT]}
shot=${2:-${page%.html}.png}
size=${3:-1280x2000}
[ -f "$page" ] || { echo "error: $page: no such report" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "error: Chromium is not installed (apt-get install chromium)" >&2; exit 1; }

log=$(mktemp)
profile=$(mktemp -d)
trap 'rm -rf "$log" "$profile"' EXIT
url="file://$(realpath "$page")"
rm -f "$shot"
# --no-sandbox: CI and these machines run as root, where Chromium's sandbox refuses to start.
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --user-data-dir="$profile" --window-size="${size/x/,}" \
  --enable-logging=stderr --v=0 --screenshot="$shot" "$url" 2>"$log" || {
  cat "$log" >&2
  echo "error: Chromium failed on $page" >&2
  exit 1
}
if grep -E "CONSOLE|Uncaught|net::ERR_|Failed to load" "$log" >&2; then
  echo "error: Chromium reported errors loading $page (above)" >&2
  exit 1
fi
[ -s "$shot" ] || { echo "error: Chromium wrote no screenshot" >&2; exit 1; }
echo "screenshot of $page: $shot"
