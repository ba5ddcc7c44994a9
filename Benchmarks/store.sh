#!/usr/bin/env bash
# Store benchmark: import of the demonstration data and of a generated 100,000-feature file,
# and bbox query latency.   make bench-store
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product onemap-bench >/dev/null
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
python3 scripts/generate_demo_data.py --bench-features 100000 --out "$W" >/dev/null
echo "machine: $(nproc) cores, $(uname -m)"
.build/release/onemap-bench store GeoData "$W/roads.geojson"
# Acknowledged-edit latency: synchronous=FULL (what the store uses) vs NORMAL, on this disk.
.build/release/onemap-bench writes GeoData "$(pwd)/.build"
