#!/usr/bin/env bash
# Printing (issue #13): the village atlas on one core next to QGIS 3.22's atlas of the same
# store, on the demo county and on a larger generated county (generator --density 2: about 4×
# the roads); seconds per page, KB per page, and text on text in each PDF.
#   make bench-print        (ONEMAP_BENCH=1 scripts/bootstrap installs python3-qgis)
set -euo pipefail
cd "$(dirname "$0")/.."
# One product per build: `swift build --product a --product b` builds only the last.
swift build -c release --product onemap >/dev/null && swift build -c release --product onemap-bench >/dev/null
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
echo "machine: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), one core each (taskset -c 0)"
python3 scripts/generate_demo_data.py --density 2 --out "$W/dense" >/dev/null
for data in GeoData "$W/dense"; do
  db="$W/$(basename "$data").sqlite"
  .build/release/onemap import "$data" --db "$db" >/dev/null 2>&1
  echo "== $( [ "$data" = GeoData ] && echo "demo county" || echo "county at --density 2") ($(sqlite3 "$db" 'select count(*) from roads') road segments)"
  .build/release/onemap-bench print "$db" Styles
  taskset -c 0 .build/release/onemap print atlas --threads 1 --db "$db" -o "$W/onemap.pdf" | sed 's/^/onemap atlas (zh, A3): /'
  taskset -c 0 .build/release/onemap print atlas --threads 1 --english --paper A4 --landscape --db "$db" -o "$W/onemap-en.pdf" | sed 's/^/onemap atlas (en, A4 landscape): /'
  if /usr/bin/python3 -c 'import qgis.core' 2>/dev/null; then
    QT_QPA_PLATFORM=offscreen taskset -c 0 /usr/bin/python3 Benchmarks/qgis_atlas.py "$db" "$W/qgis.pdf" 2>/dev/null | grep atlas
  else
    echo "QGIS: not installed (ONEMAP_BENCH=1 scripts/bootstrap)"
  fi
  for f in "$W/onemap.pdf" "$W/onemap-en.pdf" "$W/qgis.pdf"; do [ -f "$f" ] && Benchmarks/text_collisions.py "$f"; done
  rm -f "$W"/*.pdf
done
