#!/usr/bin/env bash
# Load benchmark: wrk at 64 connections against onemap serving cached tiles, side by side with
# nginx serving the very same tiles as static files, then a mix of uncached tiles and API calls
# against onemap. Reports requests/s, p99, errors and onemap's peak memory.
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
$B seed --zooms 8-13 --db "$W/demo.sqlite" >/dev/null 2>&1
# The same tiles as static files for nginx, and the list of paths both are asked for.
python3 - "$W" <<'PY'
import os, sqlite3, sys
w = sys.argv[1]
db = sqlite3.connect(os.path.join(w, "demo.tiles.sqlite"))
paths = []
for z, x, y, data in db.execute("SELECT z, x, y, data FROM tiles WHERE style='command' AND scale=1 AND z >= 10"):
    d = os.path.join(w, "static/tiles/command", str(z), str(x))
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, f"{y}.png"), "wb").write(data)
    paths.append(f"/tiles/command/{z}/{x}/{y}.png")
open(os.path.join(w, "cached.txt"), "w").write("\n".join(paths) + "\n")
# The mix: uncached z14/z15 tiles over the county, nearest and feature queries.
import random
r = random.Random(7)
mix = []
for i in range(4000):
    k = r.random()
    if k < 0.4:
        z = r.choice([14, 15]); n = 2 ** z
        lon, lat = r.uniform(82.3, 83.3), r.uniform(45.9, 46.45)
        import math
        x = int((lon + 180) / 360 * n); y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
        mix.append(f"/tiles/command/{z}/{x}/{y}.png")
    elif k < 0.7:
        mix.append(f"/api/nearest?lon={r.uniform(82.4, 83.3):.5f}&lat={r.uniform(45.95, 46.4):.5f}&k=3")
    elif k < 0.85:
        lon, lat = r.uniform(82.3, 83.3), r.uniform(45.9, 46.4)
        mix.append(f"/api/features/shelters?bbox={lon:.4f},{lat:.4f},{lon + 0.1:.4f},{lat + 0.08:.4f}")
    else:
        mix.append(r.choice(paths))
open(os.path.join(w, "mix.txt"), "w").write("\n".join(mix) + "\n")
PY
cat > "$W/paths.lua" <<'LUA'
local paths = {}
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
math.randomseed(42)
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d non2xx3xx=%d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
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
echo "machine: $(nproc) cores; wrk 2 threads, 64 connections, ${DUR}s per run; $(wc -l < "$W/cached.txt") cached tiles"
run() { PATHS="$2" wrk -t2 -c64 -d"${DUR}s" --latency -s "$W/paths.lua" "$1" | grep RESULT | sed "s/RESULT/$3/"; }
run http://127.0.0.1:18081 "$W/cached.txt" "nginx  cached tiles:        " | tee "$W/n"
run http://127.0.0.1:18080 "$W/cached.txt" "onemap cached tiles:        " | tee "$W/o"
run http://127.0.0.1:18080 "$W/mix.txt"    "onemap uncached+API mix:    "
awk -F'rps=' '{split($2, a, " "); print a[1]}' "$W/n" "$W/o" | paste -sd' ' | awk '{printf "cached tiles: onemap/nginx = %.0f%%\n", 100 * $2 / $1}'
echo "onemap peak memory: $(grep VmHWM /proc/$ONEMAP_PID/status | awk '{printf "%.0f MB", $2 / 1024}')"
grep -c '" 5[0-9][0-9]' "$W/onemap.log" >/dev/null 2>&1 && echo "5xx in onemap log: $(grep -c 'status=5' "$W/onemap.log" || true)" || true
echo "onemap responses by status during the runs:"
curl -s http://127.0.0.1:18080/metrics | grep '^http_requests_total' | sed -E 's/.*route="([^"]*)".*status="([0-9]+)"\} ([0-9]+)/\2 \1 \3/' | awk '{s[$1] += $3} END {for (k in s) printf "  %s: %d\n", k, s[k]}' | sort
