#!/usr/bin/env bash
# Nearest-resource routing before/after: onemap alone (no anchor), nearest k=3 × 4 kinds over
# 2,000 incidents, on the demo network, a 4× and a ≈36× generated network (74k segments),
# REV and this checkout alternated ROUNDS times; prints each run and the medians.
#   Benchmarks/routing-compare.sh REV [ROUNDS]        e.g. Benchmarks/routing-compare.sh 737babb 5
# Stores are written by REV (its schema); this checkout upgrades its copies when it opens them.
set -euo pipefail
cd "$(dirname "$0")/.."
REV=${1:?usage: Benchmarks/routing-compare.sh REV [ROUNDS]}
ROUNDS=${2:-5}
BASE=.build-compare/$REV
[ -d "$BASE" ] || git worktree add -f "$BASE" "$REV" >/dev/null
(cd "$BASE" && swift build -c release --product onemap-bench >/dev/null)
swift build -c release --product onemap-bench >/dev/null
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
mkdir -p "$W/demo" "$W/x4" "$W/x36"
cp GeoData/*.geojson "$W/demo/"; cp GeoData/*.geojson "$W/x4/"; cp GeoData/*.geojson "$W/x36/"
python3 scripts/generate_demo_data.py --density 2 --only roads --out "$W/x4" >/dev/null
python3 scripts/generate_demo_data.py --density 6 --only roads --out "$W/x36" >/dev/null
for d in demo x4 x36; do
  if ! "$BASE/.build/release/onemap-bench" import "$W/$d" "$W/$d-base.sqlite" >/dev/null 2>&1; then
    # Revisions before the bench could import: their own CLI writes the store.
    (cd "$BASE" && swift build -c release --product onemap >/dev/null)
    "$BASE/.build/release/onemap" import "$W/$d" --db "$W/$d-base.sqlite" >/dev/null 2>&1
  fi
  cp "$W/$d-base.sqlite" "$W/$d-this.sqlite"
done
echo "machine: $(nproc) cores, $(uname -m); $REV vs $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes'); p50 of nearest per run"
export ONEMAP_BENCH_OURS_ONLY=1
for r in $(seq "$ROUNDS"); do
  for d in demo x4 x36; do
    for side in base this; do
      if [ "$side" = this ]; then B=.build/release/onemap-bench; else B=$BASE/.build/release/onemap-bench; fi
      echo "$r $d $side $($B routing "$W/$d-$side.sqlite" "$d" 2000 | sed -n 's/.*incidents: //p')"
    done
  done
done | tee "$W/runs"
echo "medians (ms, p50 per run):"
awk '{gsub("p50 ", ""); print $2, $3, $4}' "$W/runs" | sort -k1,1 -k2,2 -k3,3n |
  awk '{k=$1" "$2; v[k]=v[k]" "$3; n[k]++} END {for (k in v) {split(substr(v[k],2), a, " "); print k, a[int((n[k]+1)/2)]}}' | sort
