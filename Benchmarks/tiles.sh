#!/usr/bin/env bash
# Tile rendering: onemap vs Mapnik (Debian python3-mapnik), the same metatiles (Benchmarks/tiles.txt:
# 8x8 tiles each at z10, z12, z14 across the county) from the same data, PNG encoding included,
# single-threaded and on all cores, side by side in one run.
#   make bench-tiles      (installs python3-mapnik through scripts/bootstrap with ONEMAP_BENCH=1)
set -euo pipefail
cd "$(dirname "$0")/.."
ONEMAP_BENCH=1 scripts/bootstrap >/dev/null
# One product per build: `swift build --product a --product b` builds only the last.
swift build -c release --product onemap >/dev/null && swift build -c release --product onemap-bench >/dev/null
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
.build/release/onemap import GeoData --db "$W/demo.sqlite" >/dev/null 2>&1
N=$(nproc)
echo "machine: $N cores, $(uname -m); $(grep -vc '^#' Benchmarks/tiles.txt) metatiles"
for threads in 1 "$N"; do
  .build/release/onemap-bench tiles "$W/demo.sqlite" Styles Benchmarks/tiles.txt "$threads" | tee "$W/o$threads"
  /usr/bin/python3 Benchmarks/mapnik_tiles.py GeoData Benchmarks/tiles.txt "$threads" | tee "$W/m$threads"
  paste "$W/o$threads" "$W/m$threads" | awk '{
    split($0, a, "= "); split(a[2], o, " "); split(a[3], m, " ");
    printf "  ratio %s (%s): onemap/Mapnik = %.2fx\n", $2, $3, o[1] / m[1] }'
done
