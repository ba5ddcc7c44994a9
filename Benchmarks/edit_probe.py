#!/usr/bin/env python3
"""The server half of Benchmarks/region.sh: the first tile after an edit, and the server's memory.

    python3 Benchmarks/edit_probe.py BASE_URL EDITOR_TOKEN SERVER_PID X16 Y16

Waits for the server, warms the tiles around (X16, Y16) at z12–z16, then 5 times renames the
village nearest that place through the API (PATCH /api/features/villages/ID) and at once asks
for the z14 and z16 tiles holding its label, timing each GET (the request that finds the cache
expired, renders the metatile and answers). Then asks for 400 random tiles across the store's
whole extent at z10–z16 (cold renders) and reads the server's resident and peak memory from
/proc/PID/status.
"""
import json, math, random, statistics, sys, time, urllib.request

BASE, TOKEN, PID, X16, Y16 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])


def get(path, headers=None):
    t = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(BASE + path, headers=headers or {}), timeout=120) as r:
        body = r.read()
    return time.perf_counter() - t, body


def tile_of(lon, lat, z):
    n = 2 ** z
    return int((lon + 180) / 360 * n), int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)


def lonlat(x, y, z):
    n = 2 ** z
    return x / n * 360 - 180, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))


def mem():
    v = {}
    for line in open(f"/proc/{PID}/status"):
        k, _, rest = line.partition(":")
        if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            v[k] = int(rest.split()[0]) / 1024
    return v


for _ in range(600):
    try:
        get("/healthz")
        break
    except Exception:
        time.sleep(0.1)
lon, lat = lonlat(X16 + 0.5, Y16 + 0.5, 16)
for z in range(12, 17):
    x, y = tile_of(lon, lat, z)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            get(f"/tiles/command/{z}/{x + dx}/{y + dy}.png")
_, body = get(f"/api/features/villages?bbox={lon - 0.05},{lat - 0.04},{lon + 0.05},{lat + 0.04}")
villages = json.loads(body)["features"]
def dist(f):
    c = f["properties"].get("center") or f["geometry"]["coordinates"][0][0]
    return (c[0] - lon) ** 2 + (c[1] - lat) ** 2
v = min(villages, key=dist)
c = v["properties"].get("center") or v["geometry"]["coordinates"][0][0]
times = {14: [], 16: []}
edit = []
for i in range(5):
    for z in times:  # cached again before each edit
        x, y = tile_of(c[0], c[1], z)
        get(f"/tiles/command/{z}/{x}/{y}.png")
    req = urllib.request.Request(f"{BASE}/api/features/villages/{v['id']}", method="PATCH",
                                 data=json.dumps({"properties": {"name": f"基准测试改名村庄第{i + 1}次编辑"}}).encode(),
                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    t = time.perf_counter()
    urllib.request.urlopen(req, timeout=60).read()
    edit.append(time.perf_counter() - t)
    for z in times:
        x, y = tile_of(c[0], c[1], z)
        times[z].append(get(f"/tiles/command/{z}/{x}/{y}.png")[0])
print(f"server: edit (PATCH) median {statistics.median(edit) * 1000:.0f} ms; first tile after the edit: "
      + ", ".join(f"z{z} median {statistics.median(t) * 1000:.0f} ms (max {max(t) * 1000:.0f})" for z, t in times.items()))
_, body = get("/api/layers")
ext = None
for l in json.loads(body):
    e = l.get("extent") or l.get("bbox")
    if e and l.get("name") == "roads":
        ext = e
rng = random.Random(14)
if ext is None:
    ext = [lon - 0.5, lat - 0.3, lon + 0.5, lat + 0.3]
t0 = time.perf_counter()
for i in range(400):
    z = rng.randint(10, 16)
    x, y = tile_of(rng.uniform(ext[0], ext[2]), rng.uniform(ext[1], ext[3]), z)
    get(f"/tiles/command/{z}/{x}/{y}.png")
m = mem()
print(f"server: 400 cold tiles across the store at z10-16 in {time.perf_counter() - t0:.1f} s; RSS {m['VmRSS']:.0f} MB (anonymous {m['RssAnon']:.0f}, file-backed {m['RssFile']:.0f}), peak {m['VmHWM']:.0f} MB")
