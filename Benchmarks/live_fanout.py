#!/usr/bin/env python3
"""Fan-out latency of the live event stream: N screens subscribed to /api/events, an editor
making W writes (road-risk status changes, one every 0.2 s); for each write, the time from its
HTTP answer to its event arriving at each screen. Prints one JSON line.

    live_fanout.py BASE_URL TOKEN [SCREENS=50] [WRITES=40]
"""
import http.client, json, sys, threading, time, urllib.parse, urllib.request

base, token = sys.argv[1], sys.argv[2]
screens = int(sys.argv[3]) if len(sys.argv) > 3 else 50
writes = int(sys.argv[4]) if len(sys.argv) > 4 else 40
u = urllib.parse.urlparse(base)
arrivals = {}  # seq -> list of arrival times
lock = threading.Lock()
ready = threading.Barrier(screens + 1)
stop = False

def screen():
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.request("GET", "/api/events")
    r = c.getresponse()
    event, data, said = "", "", False
    while not stop:
        line = r.fp.readline()
        if not line:
            break
        line = line.decode().rstrip("\n")
        if line.startswith("event: "): event = line[7:]
        elif line.startswith("data: "): data = line[6:]
        elif line == "":
            if event == "hello" and not said:
                said = True
                ready.wait()
            elif event == "road_risk":
                seq = json.loads(data)["seq"]
                with lock: arrivals.setdefault(seq, []).append(time.monotonic())
            event, data = "", ""
    c.close()

threads = [threading.Thread(target=screen, daemon=True) for _ in range(screens)]
for t in threads: t.start()
ready.wait()
risks = [f["id"] for f in json.load(urllib.request.urlopen(base + "/api/features/road_risks?limit=10000"))["features"]]
written = []  # (time, seq)
for i in range(writes):
    rid = risks[i % len(risks)]
    body = json.dumps({"status": "restricted" if i % 2 == 0 else "open"}).encode()
    req = urllib.request.Request(f"{base}/api/road_risks/{rid}/status", data=body, method="POST",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
    t = time.monotonic()
    seq = json.load(urllib.request.urlopen(f"{base}/api/audit?limit=1", timeout=10) if False else urllib.request.urlopen(urllib.request.Request(f"{base}/api/audit?limit=1", headers={"Authorization": f"Bearer {token}"})))[0]["seq"]
    written.append((t, seq))
    time.sleep(0.2)
time.sleep(2)
stop = True
lat = []
missing = 0
for t, seq in written:
    got = arrivals.get(seq, [])
    missing += screens - len(got)
    lat += [max(0.0, a - t) * 1000 for a in got]
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else None
print(json.dumps({"screens": screens, "writes": writes, "deliveries": len(lat), "missing": missing,
                  "p50_ms": round(pct(0.5), 1), "p99_ms": round(pct(0.99), 1), "max_ms": round(lat[-1], 1)}))
