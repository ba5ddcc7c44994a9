#!/usr/bin/env bash
# Nearest-resource latency, onemap vs SpatiaLite VirtualRouting, on the demonstration network and
# on a generated network about 4x larger, in one run on this machine.
#   make bench-routing      (or: Benchmarks/routing.sh [N incidents])
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
swift build -c release --product onemap-bench >/dev/null
B=.build/release/onemap-bench
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
.build/release/onemap import GeoData --db "$W/demo.sqlite" >/dev/null 2>&1
mkdir -p "$W/big"
python3 scripts/generate_demo_data.py --density 2 --out "$W/big" >/dev/null
.build/release/onemap import "$W/big" --db "$W/big.sqlite" >/dev/null 2>&1
echo "machine: $(nproc) cores, $(uname -m); single-threaded queries"
$B routing "$W/demo.sqlite" demo "$N"
$B routing "$W/big.sqlite" "4x network" "$N"
