#!/usr/bin/env bash
# Tiles at region scale (issue #14), on the demo county and on the 100-county store
# (scripts/tile_counties.py --grid 10: the demo county tiled 10 × 10, 377,900 features), side by
# side with Mapnik (Debian python3-mapnik) on the same GeoJSON export, in one run:
#   1. a cold single tile: `onemap render --tile`, process start included, z12 / z14 / z16
#      (median of 3, with peak RSS);
#   2. seeding: metatiles around the same place (z12: 3×3, z14: 4×4; all 64 tiles each, PNG
#      included), onemap-bench vs Benchmarks/mapnik_tiles.py, one core and all cores;
#   3. the server: the first tile after an edit (a village next to the tile renamed through the
#      API, the tile asked for at once; median of 5, Benchmarks/edit_probe.py), then peak RSS
#      after 400 cold tiles across the whole store at z10–z16. The anchor for "a tile after an
#      edit" is Mapnik's time for the one metatile renderd would render again (from step 2).
#   make bench-region      (installs python3-mapnik through scripts/bootstrap with ONEMAP_BENCH=1)
#   STEPS="server" STORES="region" Benchmarks/region.sh     (a part only)
set -euo pipefail
cd "$(dirname "$0")/.."
ONEMAP_BENCH=1 scripts/bootstrap >/dev/null
# One product per build: `swift build --product a --product b` builds only the last.
swift build -c release --product onemap >/dev/null && swift build -c release --product onemap-bench >/dev/null
W=$(mktemp -d)
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
B=.build/release/onemap
N=$(nproc)
STEPS=${STEPS:-cold seed server}
STORES=${STORES:-demo region}
has() { case " $2 " in *" $1 "*) return 0;; esac; return 1; }
cp -r GeoData "$W/demo"
$B import "$W/demo" --db "$W/demo.sqlite" >/dev/null 2>&1
python3 scripts/tile_counties.py "$W/region" --grid 10 >/dev/null
$B import "$W/region" --db "$W/region.sqlite" >/dev/null 2>&1
echo "machine: $N cores, $(uname -m), $(date -u +%Y-%m-%dT%H:%MZ); region: $(sqlite3 "$W/region.sqlite" "SELECT (SELECT count(*) FROM villages) || ' villages, ' || (SELECT count(*) FROM roads) || ' road segments'" 2>/dev/null || echo '100 counties')"
# The seat area of the demo county, and the same place in county 55 of the region.
for spec in "demo 47874 23262" "region 49164 24569"; do
  set -- $spec; db=$1; x16=$2; y16=$3
  has "$db" "$STORES" || continue
  echo "== $db"
  has cold "$STEPS" && for z in 12 14 16; do
    t="$z/$((x16 >> (16 - z)))/$((y16 >> (16 - z)))"
    runs=$(for i in 1 2 3; do /usr/bin/time -f "%e %M" $B render --db "$W/$db.sqlite" --tile "$t" -o "$W/t.png" 2>&1 >/dev/null | tail -1; done | sort -n)
    echo "cold tile $t: median $(echo "$runs" | sed -n 2p | awk '{printf "%.2f s, %.0f MB", $1, $2/1024}')"
  done
  { echo "# z mx my"
    for r in "12 1" "14 2"; do set -- $r; z=$1; k=$2
      mx=$(( (x16 >> (16 - z)) / 8 )); my=$(( (y16 >> (16 - z)) / 8 ))
      for dy in $(seq -1 $((k == 1 ? 1 : 2))); do for dx in $(seq -1 $((k == 1 ? 1 : 2))); do echo "$z $((mx + dx)) $((my + dy))"; done; done
    done; } > "$W/$db.metas"
  has seed "$STEPS" && for threads in 1 "$N"; do
    .build/release/onemap-bench tiles "$W/$db.sqlite" Styles "$W/$db.metas" "$threads" | tee "$W/o"
    /usr/bin/python3 Benchmarks/mapnik_tiles.py "$W/$db" "$W/$db.metas" "$threads" | tee "$W/m"
    paste "$W/o" "$W/m" | awk '{ split($0, a, "= "); split(a[2], o, " "); split(a[3], m, " ");
      printf "  ratio %s (%s): onemap/Mapnik = %.2fx; one metatile: onemap %.0f ms, Mapnik %.0f ms\n", $2, $3, o[1] / m[1], 64000 / o[1], 64000 / m[1] }'
  done
  has server "$STEPS" || continue
  TOKEN=$($B user add bench --role editor --db "$W/$db.sqlite" | tail -1)
  PORT=$((18400 + RANDOM % 500))
  $B serve --db "$W/$db.sqlite" --port "$PORT" --render-threads "$N" >"$W/serve.log" 2>&1 &
  PID=$!
  python3 Benchmarks/edit_probe.py "http://127.0.0.1:$PORT" "$TOKEN" "$PID" "$x16" "$y16"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
done
