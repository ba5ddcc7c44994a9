#!/usr/bin/env bash
# Printing: seconds per A3 village page on one core, the whole atlas on all cores, size per page.
#   make bench-print
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product onemap --product onemap-bench >/dev/null 2>&1 || swift build -c release >/dev/null
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
.build/release/onemap import GeoData --db "$W/demo.sqlite" >/dev/null 2>&1
echo "machine: $(nproc) cores"
.build/release/onemap-bench print "$W/demo.sqlite" Styles
