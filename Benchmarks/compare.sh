#!/usr/bin/env bash
# Before/after: the library benchmarks (tiles, routing, print, store) of another revision and of
# this checkout, alternated in one run on the same stores, to show a refactor is within noise.
#   Benchmarks/compare.sh REV [ROUNDS]      e.g. Benchmarks/compare.sh 737babb 2
# The other revision is built in a git worktree under .build-compare/ (release, onemap-bench only).
set -euo pipefail
cd "$(dirname "$0")/.."
REV=${1:?usage: Benchmarks/compare.sh REV [ROUNDS]}
ROUNDS=${2:-2}
BASE=.build-compare/$REV
[ -d "$BASE" ] || git worktree add -f "$BASE" "$REV" >/dev/null
(cd "$BASE" && swift build -c release --product onemap-bench >/dev/null)
swift build -c release --product onemap-bench >/dev/null
swift build -c release --product onemap >/dev/null
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
.build/release/onemap import GeoData --db "$W/demo.sqlite" >/dev/null 2>&1
mkdir -p "$W/big"
python3 scripts/generate_demo_data.py --density 2 --out "$W/big" >/dev/null
.build/release/onemap import "$W/big" --db "$W/big.sqlite" >/dev/null 2>&1
echo "machine: $(nproc) cores, $(uname -m); $REV vs $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes'), $ROUNDS rounds alternated"
for r in $(seq "$ROUNDS"); do
  for side in "$REV" "this"; do
    if [ "$side" = this ]; then B=.build/release/onemap-bench; S=Styles; else B=$BASE/.build/release/onemap-bench; S=$BASE/Styles; fi
    echo "== round $r: $side"
    $B tiles "$W/demo.sqlite" "$S" Benchmarks/tiles.txt 1
    $B routing "$W/demo.sqlite" demo 1000 | grep -E "onemap +p50"
    $B routing "$W/big.sqlite" "4x" 1000 | grep -E "onemap +p50"
    $B print "$W/demo.sqlite" "$S" 2>&1 | grep -E "^atlas|page, one core|mean"
    $B store GeoData "$W/big" 2>&1 | sed -n 2,5p
  done
done
