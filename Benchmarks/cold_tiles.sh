#!/usr/bin/env bash
# Cold single tiles (issue #14, first part): `onemap render` of one tile, process start
# included, at z12, z14 and z16 in the middle of the demo county and of the 100-county store
# (scripts/tile_counties.py --grid 10: the demo county tiled 10 × 10, 377,900 features).
# Seconds and peak RSS per tile, 3 runs each (median).
#   Benchmarks/cold_tiles.sh
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product onemap >/dev/null
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
B=.build/release/onemap
$B import GeoData --db "$W/demo.sqlite" >/dev/null 2>&1
python3 scripts/tile_counties.py "$W/region" --grid 10 >/dev/null
$B import "$W/region" --db "$W/region.sqlite" >/dev/null 2>&1
echo "machine: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
# The demo seat area, and the same place in county 55 of the region (5 columns east, 5 rows south).
for spec in "demo 12/2992/1453 14/11968/5815 16/47874/23262" "region 12/3072/1535 14/12291/6142 16/49164/24569"; do
  set -- $spec; db=$1; shift
  for t in "$@"; do
    runs=$(for i in 1 2 3; do /usr/bin/time -f "%e %M" $B render --db "$W/$db.sqlite" --tile "$t" -o "$W/t.png" 2>&1 >/dev/null | tail -1; done | sort -n)
    echo "$db $t: median $(echo "$runs" | sed -n 2p | awk '{printf "%.2f s, %.0f MB", $1, $2/1024}')"
  done
done
