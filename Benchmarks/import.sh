#!/usr/bin/env bash
# Import benchmark (issue #12): a county-style Shapefile — GBK text without .cpg, Chinese field
# names and values, CGCS2000 Gauss–Krüger CM 84°E (EPSG:4537) — imported by `onemap import
# --mapping` (decoding, mapping, reprojection to WGS84, validation, one transaction) side by side
# with the anchor, `ogr2ogr -f SQLite -dsco SPATIALITE=YES` of the same file (as it is, and with
# -t_srs EPSG:4326 so it reprojects as onemap does). Wall time and peak memory (max RSS) of each
# process, median of ROUNDS, at the demo size (2,807 roads) and a generated 100,000-road file.
# onemap's process time includes the road-network summary `import` prints after loading roads;
# the import alone (the "imported N features … in X s" it reports) is shown in brackets.
#   Benchmarks/import.sh [ROUNDS]        (make bench-import)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
swift build -c release --product onemap >/dev/null
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
mkdir -p "$W/demo" "$W/big-geo"
python3 scripts/generate_demo_data.py --bench-features 100000 --out "$W/big-geo" >/dev/null
scripts/county-sample "$W/demo" GeoData >/dev/null
scripts/county-sample "$W/big" "$W/big-geo" >/dev/null
# The worked example's roads mapping alone.
python3 - "$W/roads.json" <<'PY'
import json, sys
m = json.load(open("GeoData/mappings/yumin-county.json"))
json.dump([x for x in m["mappings"] if x["source_layer"] == "道路"][0], open(sys.argv[1], "w"), ensure_ascii=False)
PY

# Runs a command ROUNDS times; prints "median_seconds peak_rss_MiB".
measure() {
  local times=() rss=0
  : > "$W/own"
  for _ in $(seq "$ROUNDS"); do
    rm -f "$W/out.sqlite" "$W/out.sqlite-wal" "$W/out.sqlite-shm"
    /usr/bin/time -f "%e %M" -o "$W/time" "$@" >"$W/out" 2>"$W/err" || { cat "$W/err" >&2; exit 1; }
    grep -o 'in [0-9.]* s$' "$W/out" | awk '{print $2}' >> "$W/own" || true
    read -r t m < "$W/time"
    times+=("$t"); [ "$m" -gt "$rss" ] && rss=$m
  done
  local own
  own=$(sort -n "$W/own" | awk '{a[NR]=$1} END {if (NR) print "[" a[int((NR+1)/2)] "]"}')
  printf '%s%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" "$own" "$((rss / 1024))"
}

echo "machine: $(nproc) cores, $(uname -m); GDAL $(gdal-config --version 2>/dev/null || ogr2ogr --version | awk '{print $2}' | tr -d ,); rounds: $ROUNDS (median time, peak RSS)"
ratio() { echo "${1%%[*} / $2" | bc -l | xargs printf '%.2f'; }
row() { printf '%-7s %8s  %-42s %14s %8s %10s %10s\n' "$@"; }
row size features tool seconds "RSS MiB" "×ogr2ogr" "×ogr2ogr -t_srs"
for size in demo big; do
  shp="$W/$size/道路.shp"
  n=$(ogrinfo -so -al -oo ENCODING= "$shp" | awk -F': ' '/Feature Count/ {print $2}')
  read -r t0 r0 < <(measure ogr2ogr -f SQLite -dsco SPATIALITE=YES "$W/out.sqlite" "$shp")
  read -r t1 r1 < <(measure ogr2ogr -f SQLite -dsco SPATIALITE=YES -t_srs EPSG:4326 "$W/out.sqlite" "$shp")
  read -r t2 r2 < <(measure .build/release/onemap import "$shp" --mapping "$W/roads.json" --db "$W/out.sqlite")
  # onemap's own GeoJSON of the same roads: the fast path, and the same file through GDAL (--encoding forces it).
  geo=$([ "$size" = demo ] && echo GeoData/roads.geojson || echo "$W/big-geo/roads.geojson")
  read -r t3 r3 < <(measure .build/release/onemap import "$geo" --db "$W/out.sqlite")
  read -r t4 r4 < <(measure .build/release/onemap import "$geo" --encoding UTF-8 --layer roads --db "$W/out.sqlite")
  row "$size" "$n" "ogr2ogr -f SQLite -dsco SPATIALITE=YES" "$t0" "$r0" 1.00 "$(ratio "$t0" "$t1")"
  row "$size" "$n" "ogr2ogr … -t_srs EPSG:4326" "$t1" "$r1" "$(ratio "$t1" "$t0")" 1.00
  row "$size" "$n" "onemap import 道路.shp --mapping [import]" "$t2" "$r2" "$(ratio "$t2" "$t0")" "$(ratio "$t2" "$t1")"
  row "$size" "$n" "onemap import roads.geojson (fast path)" "$t3" "$r3" "$(ratio "$t3" "$t0")" "$(ratio "$t3" "$t1")"
  row "$size" "$n" "onemap import roads.geojson through GDAL" "$t4" "$r4" "$(ratio "$t4" "$t0")" "$(ratio "$t4" "$t1")"
done
