#!/usr/bin/env bash
# Load benchmark: wrk at 64 connections against onemap serving cached tiles, side by side with
# nginx serving the very same tiles as static files (nginx's own ETags for its conditional runs),
# on a 7k-tile and a 50k-tile working set, plain GETs and If-None-Match; then a mix of uncached
# tiles and API calls against onemap. Reports requests/s, p50/p99, errors and peak memory.
# Goal (issue #17): onemap >= 60% of nginx for GET and If-None-Match, p99 < 10 ms, 0 errors.
#   make bench-serve      (installs wrk and nginx through scripts/bootstrap with ONEMAP_BENCH=1)
set -euo pipefail
cd "$(dirname "$0")/.."
ONEMAP_BENCH=1 scripts/bootstrap >/dev/null
swift build -c release --product onemap >/dev/null
DUR=${DUR:-15}
W=$(mktemp -d)
cleanup() { kill "$ONEMAP_PID" 2>/dev/null || true; [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
B=.build/release/onemap
$B import GeoData --db "$W/demo.sqlite" >/dev/null 2>&1
# Tiles z8-16 of the demo county (about 99k tiles at z10-16), rendered once into onemap's cache.
$B seed --zooms 8-16 --db "$W/demo.sqlite" >/dev/null 2>&1
# The same tiles as static files for nginx, and the working sets both servers are asked for:
#   7k  = every tile z10-14 (the county at the zooms a dispatcher pans most)
#   50k = 50,000 tiles drawn at random from z10-16
# Each line is "path onemap-etag nginx-etag": the conditional runs send the server's own tag.
python3 - "$W" <<'PY'
import os, random, sqlite3, sys
w = sys.argv[1]
db = sqlite3.connect(os.path.join(w, "demo.tiles.sqlite"))
rows = []
# Small tiles (the empty one, mostly) are stored once in `shared` and referred to by their tag.
for z, x, y, data, etag in db.execute("SELECT z, x, y, coalesce(tiles.data, shared.data), tiles.etag FROM tiles LEFT JOIN shared ON tiles.data IS NULL AND shared.etag = tiles.etag WHERE style='command' AND scale=1 AND z >= 10 AND z <= 16"):
    d = os.path.join(w, "static/tiles/command", str(z), str(x))
    os.makedirs(d, exist_ok=True)
    f = os.path.join(d, f"{y}.png")
    open(f, "wb").write(data)
    st = os.stat(f)
    rows.append((z, f"/tiles/command/{z}/{x}/{y}.png", etag, '"%x-%x"' % (int(st.st_mtime), st.st_size), len(data)))
def write(name, sel):
    open(os.path.join(w, name), "w").write("".join(f"{p} {e} {n}\n" for _, p, e, n, _ in sel))
    print(f"{name}: {len(sel)} tiles, {sum(r[4] for r in sel) / 1e6:.0f} MB", file=sys.stderr)
write("set7k.txt", [r for r in rows if r[0] <= 14])
r = random.Random(7)
write("set50k.txt", r.sample(rows, min(50000, len(rows))))
# The mix: uncached tiles over the county, nearest and feature queries, cached tiles.
import math
mix = []
cached = [p for _, p, _, _, _ in rows]
for i in range(4000):
    k = r.random()
    if k < 0.4:
        z = r.choice([14, 15]); n = 2 ** z
        lon, lat = r.uniform(82.3, 83.3), r.uniform(45.9, 46.45)
        x = int((lon + 180) / 360 * n); y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
        mix.append(f"/tiles/command/{z}/{x}/{y}.png")
    elif k < 0.7:
        mix.append(f"/api/nearest?lon={r.uniform(82.4, 83.3):.5f}&lat={r.uniform(45.95, 46.4):.5f}&k=3")
    elif k < 0.85:
        lon, lat = r.uniform(82.3, 83.3), r.uniform(45.9, 46.4)
        mix.append(f"/api/features/shelters?bbox={lon:.4f},{lat:.4f},{lon + 0.1:.4f},{lat + 0.08:.4f}")
    else:
        mix.append(r.choice(cached))
open(os.path.join(w, "mix.txt"), "w").write("".join(f"{p} - -\n" for p in mix))
# Cold @2x tiles (issue #16: shedding by waiting time): z15/z16 @2x metatiles nobody rendered yet.
cold = set()
while len(cold) < 20000:
    z = r.choice([15, 16]); n = 2 ** z
    lon, lat = r.uniform(82.3, 83.3), r.uniform(45.9, 46.45)
    x = int((lon + 180) / 360 * n); y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
    cold.add(f"/tiles/command/{z}/{x}/{y}@2x.png")
open(os.path.join(w, "cold2x.txt"), "w").write("".join(f"{p} - -\n" for p in sorted(cold)))
PY
cat > "$W/paths.lua" <<'LUA'
-- PATHS: lines "path onemap-etag nginx-etag"; TAG: 0 plain GET, 2 If-None-Match with onemap's tag, 3 with nginx's.
local paths, tags = {}, {}
local col = tonumber(os.getenv("TAG") or "0")
for line in io.lines(os.getenv("PATHS")) do
  local p, a, b = line:match("^(%S+) (%S+) (%S+)$")
  paths[#paths + 1] = p
  tags[#tags + 1] = (col == 2 and a) or (col == 3 and b) or nil
end
math.randomseed(42)
request = function()
  local i = math.random(#paths)
  if tags[i] then return wrk.format("GET", paths[i], { ["If-None-Match"] = tags[i] }) end
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.0f errors=%d non2xx3xx=%d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))
end
LUA
cat > "$W/nginx.conf" <<NGX
worker_processes auto;
pid $W/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  types { image/png png; }
  etag on;
  server { listen 127.0.0.1:18081; root $W/static; }
}
NGX
chmod -R a+rX "$W"; chmod a+rx "$(dirname "$W")" 2>/dev/null || true
nginx -c "$W/nginx.conf"
$B serve --db "$W/demo.sqlite" --port 18080 >"$W/onemap.log" 2>&1 &
ONEMAP_PID=$!
for i in $(seq 50); do curl -sf http://127.0.0.1:18080/healthz >/dev/null && break; sleep 0.2; done
cat > "$W/walk.lua" <<'LUA'
local paths, i = {}, 0
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line:match("^(%S+)") end
request = function() i = i % #paths + 1; return wrk.format("GET", paths[i]) end
LUA
echo "machine: $(nproc) cores; wrk 2 threads, 64 connections, ${DUR}s per run (after a warm-up that asks for every tile of the set)"
run() { PATHS="$2" TAG="${4:-0}" wrk -t2 -c64 -d"${DUR}s" --latency -s "$W/paths.lua" "$1" | grep RESULT | sed "s/RESULT/$3/"; }
# Warm-up: every tile of the set asked for in turn (each wrk thread walks the whole list once or more).
warm() { PATHS="$2" wrk -t2 -c64 -d"$3" -s "$W/walk.lua" "$1" >/dev/null; }
rps() { sed -E 's/.*rps=([0-9]+).*/\1/' "$1"; }
for set in 7k 50k; do
  secs=$(( $(wc -l < "$W/set$set.txt") / 4000 + 3 ))
  warm http://127.0.0.1:18081 "$W/set$set.txt" "${secs}s"; warm http://127.0.0.1:18080 "$W/set$set.txt" "${secs}s"
  run http://127.0.0.1:18081 "$W/set$set.txt" "nginx  $set GET:          " | tee "$W/n-$set"
  run http://127.0.0.1:18080 "$W/set$set.txt" "onemap $set GET:          " | tee "$W/o-$set"
  run http://127.0.0.1:18081 "$W/set$set.txt" "nginx  $set If-None-Match:" 3 | tee "$W/nc-$set"
  run http://127.0.0.1:18080 "$W/set$set.txt" "onemap $set If-None-Match:" 2 | tee "$W/oc-$set"
  echo "$set: onemap/nginx GET $(( 100 * $(rps "$W/o-$set") / $(rps "$W/n-$set") ))%, If-None-Match $(( 100 * $(rps "$W/oc-$set") / $(rps "$W/nc-$set") ))%"
done
run http://127.0.0.1:18080 "$W/mix.txt" "onemap uncached+API mix:    "
# Cold @2x load, 64 connections: renders that would wait more than --render-max-wait (2 s) are 503 at once.
count503() { curl -s http://127.0.0.1:18080/metrics | awk '/^http_requests_total/ && /status="503"/ {s += $2} END {print s + 0}'; }
before503=$(count503)
PATHS="$W/cold2x.txt" wrk -t2 -c64 -d"${DUR}s" --latency -s "$W/paths.lua" http://127.0.0.1:18080 | grep RESULT | sed "s/RESULT/onemap cold @2x tiles (64 conn):/"
after503=$(count503)
echo "  of which 503 (shed, with Retry-After): $((after503 - before503))"
curl -s http://127.0.0.1:18080/metrics | grep -E '^onemap_(tile_memory|tile_cache|cache_expiries|tiles_served|metatiles_rendered|render_rejected)' | sed 's/^/  /' || true
echo "onemap peak memory: $(grep VmHWM /proc/$ONEMAP_PID/status | awk '{printf "%.0f MB", $2 / 1024}')"
echo "onemap responses by status during the runs:"
curl -s http://127.0.0.1:18080/metrics | grep '^http_requests_total' | sed -E 's/.*route="([^"]*)".*status="([0-9]+)"\} ([0-9]+)/\2 \1 \3/' | awk '{s[$1] += $3} END {for (k in s) printf "  %s: %d\n", k, s[k]}' | sort
