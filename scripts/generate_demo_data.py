#!/usr/bin/env python3
"""Deterministic generator of onemap's demonstration data for 裕民县 (Yumin County).

Every feature is synthetic and says so ("source": "demo"); positions are grounded in
../shared/GEO-FACTS.md (township codes and seats, the county seat, the Barluk range and reserve,
the 2008 M5.1 epicentre, G219 and the old provincial roads 201/318/221). Nothing here is surveyed.

    python3 scripts/generate_demo_data.py                 # writes GeoData/*.geojson (committed)
    python3 scripts/generate_demo_data.py --density 2 --only roads --out /tmp/big   # 4x road network
    python3 scripts/generate_demo_data.py --bench-features 100000 --out /tmp/bench  # import benchmark

The road network is a jittered lattice clipped to the county, thinned by terrain (dense farmland in
the north, sparse tracks in the Barluk range), kept to its largest connected component, with the
trunk routes laid along lattice paths, so every segment ends at a junction or a dead end.
Phone numbers are all of the form 0901-0xxxxxx: Tacheng's area code followed by a local number
starting with 0, which Chinese numbering never assigns, so none can reach a real person.
"""
import argparse, heapq, json, math, os, random

SEED = 20261129
BBOX = (82.05, 45.45, 83.55, 46.55)
SEAT = (82.98, 46.20)
EPICENTRE = (82.80, 46.00)
RESERVE = (82.744, 45.738)
RIDGE = [(82.20, 45.66), (82.55, 45.72), (82.80, 45.74), (83.10, 45.72), (83.45, 45.64)]

TOWNSHIPS = [
    ("654225100", "哈拉布拉镇", "Halabula Zhen", "town", 82.980, 46.200, 14000),
    ("654225101", "吉也克镇", "Jiyeke Zhen", "town", 82.75, 46.33, 7000),
    ("654225200", "哈拉布拉乡", "Halabula Xiang", "township", 82.92, 46.26, 6500),
    ("654225201", "新地乡", "Xindi Xiang", "township", 83.07, 46.24, 6328),
    ("654225202", "阿勒腾也木勒乡", "Aletengyemule Xiang", "township", 83.25, 46.30, 5200),
    ("654225204", "江格斯乡", "Jianggesi Xiang", "township", 82.55, 46.13, 5000),
    ("654225400", "察汗托海牧场", "Chahantuohai Muchang", "farm", 82.80, 46.00, 2500),
    ("654225501", "兵团第九师161团", "XPCC 161st Regiment", "regiment", 82.55, 45.98, 3500),
]
VILLAGE_NAMES = {
    "654225100": ["阿克乔克村", "喀拉苏村", "塔斯特村", "博孜达克村", "库尔特村", "新民村", "幸福村", "团结路村"],
    "654225101": ["吉也克村", "阔布村", "塔斯提村", "喀拉托别村", "阿克吐别克村", "库吉拜村", "铁列克村", "萨孜村", "别斯铁列克村"],
    "654225200": ["哈拉布拉村", "阿克齐村", "喀拉铁列克村", "乌拉斯台村", "克孜勒塔斯村", "阔克铁列克村", "巴斯铁列克村", "加尔布拉克村", "奥尔塔村"],
    # The 11 names of the older public list, plus two synthetic ones (13 villages in 2019).
    "654225201": ["新地北村", "新地南村", "新地西村", "团结东村", "团结西村", "前进村", "木乎尔村", "乌尔吉也克村", "乌尔吉也克西村", "乌尔吉也克东村", "阿克托别村", "阔克托别村", "萨尔布拉克村"],
    "654225202": ["阿勒腾也木勒村", "萨尔也木勒村", "库木托别村", "阿克塔斯村", "别斯托别村", "克孜勒加尔村", "喀拉吉拉村", "塔勒德村"],
    "654225204": ["江格斯村", "喀拉霍吉尔村", "阿克别勒村", "吐尔加勒村", "巴尔鲁克村", "塔斯布拉克村", "托斯特村", "阿尔夏特村"],
    "654225400": ["察汗托海一队", "察汗托海二队", "察汗托海三队", "察汗托海四队", "察汗托海五队"],
    "654225501": ["161团一连", "161团二连", "161团三连", "161团四连", "161团五连"],
}
SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "马", "赵", "周", "吴", "孙", "胡", "高", "何", "郭"]
GIVEN = ["建国", "志强", "海燕", "丽娜", "国庆", "春梅", "永红", "晓东", "文华", "玉兰", "新民", "红霞", "立新", "秀英", "金山"]
KAZAKH = ["努尔兰·阿合买提", "阿依古丽·巴合提", "叶尔兰·努尔波拉提", "古丽娜尔·哈森", "别克·吐尔逊", "阿斯哈尔·江布尔",
          "热依拉·木拉提", "达吾列提·阿达力", "哈那提·沙依兰", "玛依拉·叶尔肯", "巴合提亚尔·加肯", "萨吾列·托列根"]
UYGHUR = ["艾尼瓦尔·买买提", "阿依努尔·吐尔逊", "买买提江·艾海提", "古丽米热·阿不都", "阿布都热合曼·肉孜", "热娜古丽·艾力"]
# The same names in Kazakh (China's Arabic-script alphabet) and Uyghur script (synthetic demo
# spellings, not persons).
SCRIPT = {
    "努尔兰·阿合买提": "نۇرلان احمەت", "阿依古丽·巴合提": "ايگۇل باقىت", "叶尔兰·努尔波拉提": "ەرلان نۇربولات", "古丽娜尔·哈森": "گۇلنار حاسەن",
    "别克·吐尔逊": "بەك تۇرسىن", "阿斯哈尔·江布尔": "اسقار جامبىل", "热依拉·木拉提": "رايلا مۇرات", "达吾列提·阿达力": "داۋلەت ادىل",
    "哈那提·沙依兰": "قانات سايلاۋ", "玛依拉·叶尔肯": "مايرا ەركىن", "巴合提亚尔·加肯": "باقتيار جاكەن", "萨吾列·托列根": "ساۋلە تولەگەن",
    "艾尼瓦尔·买买提": "ئەنۋەر مەمەت", "阿依努尔·吐尔逊": "ئاينۇر تۇرسۇن", "买买提江·艾海提": "مەمەتجان ئەخەت", "古丽米热·阿不都": "گۈلمىرە ئابدۇ",
    "阿布都热合曼·肉孜": "ئابدۇراخمان روزى", "热娜古丽·艾力": "رەناگۈل ئەلى",
}


def mpd(lat):
    """metres per degree (lon, lat) near lat"""
    m = 6371008.8 * math.pi / 180
    return m * math.cos(math.radians(lat)), m


def ekey(a, b):
    return (a, b) if repr(a) < repr(b) else (b, a)


def dist_m(a, b):
    kx, ky = mpd((a[1] + b[1]) / 2)
    return math.hypot((a[0] - b[0]) * kx, (a[1] - b[1]) * ky)


def r6(p):
    return [round(p[0], 6), round(p[1], 6)]


def convex_hull(pts):
    pts = sorted(set(pts))
    def cross(o, a, b): return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0: lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0: upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def point_in_ring(ring, p):
    inside, j = False, len(ring) - 1
    for i in range(len(ring)):
        a, b = ring[i], ring[j]
        if (a[1] > p[1]) != (b[1] > p[1]) and p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]:
            inside = not inside
        j = i
    return inside


def clip_halfplane(poly, a, b, c):
    """Keeps the part of a convex polygon where a*x + b*y <= c."""
    out = []
    n = len(poly)
    for i in range(n):
        p, q = poly[i], poly[(i + 1) % n]
        fp, fq = a * p[0] + b * p[1] - c, a * q[0] + b * q[1] - c
        if fp <= 0: out.append(p)
        if (fp < 0 < fq) or (fq < 0 < fp):
            t = fp / (fp - fq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def closed(ring):
    ring = [r6(p) for p in ring]
    if ring[0] != ring[-1]: ring.append(ring[0])
    return ring


def ccw(ring):
    s = sum(ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1] for i in range(len(ring) - 1))
    return ring if s > 0 else list(reversed(ring))


def blob(rng, c, rx_m, ry_m, n=14, angle=0.0, jitter=0.25):
    """A star-shaped (hence simple) polygon around c, radii in metres, rotated by angle."""
    kx, ky = mpd(c[1])
    pts = []
    for k in range(n):
        t = 2 * math.pi * k / n
        r = 1 + rng.uniform(-jitter, jitter)
        x, y = rx_m * r * math.cos(t), ry_m * r * math.sin(t)
        xr, yr = x * math.cos(angle) - y * math.sin(angle), x * math.sin(angle) + y * math.cos(angle)
        pts.append((c[0] + xr / kx, c[1] + yr / ky))
    return ccw(closed(pts))


def ridge_distance_deg(p):
    best = 1e9
    for a, b in zip(RIDGE, RIDGE[1:]):
        dx, dy = b[0] - a[0], b[1] - a[1]
        t = max(0, min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)))
        best = min(best, math.hypot(p[0] - a[0] - t * dx, (p[1] - a[1] - t * dy) * 1.4))
    return best


def ridge_lat(lon):
    for a, b in zip(RIDGE, RIDGE[1:]):
        if a[0] <= lon <= b[0]:
            return a[1] + (lon - a[0]) / (b[0] - a[0]) * (b[1] - a[1])
    return RIDGE[0][1] if lon < RIDGE[0][0] else RIDGE[-1][1]


def terrain(p):
    """'mountain' on the Barluk range, 'foothill' on the north-slope fans, else 'plain'."""
    d = p[1] - ridge_lat(p[0])
    if abs(d) < 0.12: return "mountain"
    if -0.2 < d < 0.28: return "foothill"
    return "plain"


class Net:
    def __init__(self):
        self.nodes = {}      # key -> (lon, lat)
        self.adj = {}        # key -> set(keys)
        self.edges = {}      # (a, b) sorted -> attrs

    def add_edge(self, a, b):
        k = (a, b) if repr(a) < repr(b) else (b, a)
        if k in self.edges: return
        self.edges[k] = {"class": None}
        self.adj.setdefault(a, set()).add(b)
        self.adj.setdefault(b, set()).add(a)

    def path(self, a, b):
        dist, prev, pq = {a: 0}, {}, [(0, a)]
        while pq:
            d, u = heapq.heappop(pq)
            if u == b: break
            if d > dist[u]: continue
            for v in sorted(self.adj[u], key=repr):
                e = self.edges[ekey(u, v)]
                w = dist_m(self.nodes[u], self.nodes[v]) * (0.55 if e["class"] else 1.0)
                if d + w < dist.get(v, 1e18):
                    dist[v], prev[v] = d + w, u
                    heapq.heappush(pq, (d + w, v))
        out = [b]
        while out[-1] != a: out.append(prev[out[-1]])
        return out[::-1]

    def nearest(self, p, pred=lambda k: True):
        return min((k for k in sorted(self.nodes, key=repr) if pred(k)), key=lambda k: dist_m(self.nodes[k], p))


def build_county(rng):
    pts = []
    for k in range(48):
        t = 2 * math.pi * k / 48
        r = rng.uniform(0.9, 1.0)
        pts.append((round(82.80 + 0.72 * r * math.cos(t), 6), round(46.00 + 0.53 * r * math.sin(t), 6)))
    pts = [(min(max(x, BBOX[0] + 0.01), BBOX[2] - 0.01), min(max(y, BBOX[1] + 0.01), BBOX[3] - 0.01)) for x, y in pts]
    hull = convex_hull(pts)
    assert point_in_ring(hull, EPICENTRE) and point_in_ring(hull, RESERVE) and point_in_ring(hull, SEAT)
    return hull


def build_network(rng, county, density=1):
    net = Net()
    dx, dy = 0.03 / density, 0.02 / density
    cols, rows = int((BBOX[2] - BBOX[0]) / dx) + 1, int((BBOX[3] - BBOX[1]) / dy) + 1
    for i in range(cols):
        for j in range(rows):
            p = (BBOX[0] + i * dx + rng.uniform(-0.36, 0.36) * dx, BBOX[1] + j * dy + rng.uniform(-0.36, 0.36) * dy)
            if not point_in_ring(county, p): continue
            t = terrain(p)
            if t == "mountain" and ridge_distance_deg(p) < 0.035 and rng.random() < 0.7: continue  # bare ridge
            net.nodes[(i, j)] = p
    keep = {"plain": 0.82, "foothill": 0.62, "mountain": 0.42}
    for (i, j) in sorted(k for k in net.nodes if k[0] != 't'):
        for (di, dj) in ((1, 0), (0, 1)):
            k = (i + di, j + dj)
            if k not in net.nodes: continue
            mid = ((net.nodes[(i, j)][0] + net.nodes[k][0]) / 2, (net.nodes[(i, j)][1] + net.nodes[k][1]) / 2)
            if rng.random() < keep[terrain(mid)]:
                net.add_edge((i, j), k)
    # Town street grids around the county seat and the township seats replace the lattice there.
    for k, t in enumerate(TOWNSHIPS):
        cx, cy = t[4], t[5]
        half = 5 if k == 0 else 3
        sx, sy = 0.0036 / density ** 0.5, 0.0026 / density ** 0.5
        box = (cx - (half + 0.5) * sx, cy - (half + 0.5) * sy, cx + (half + 0.5) * sx, cy + (half + 0.5) * sy)
        inside = [key for key, p in net.nodes.items() if box[0] <= p[0] <= box[2] and box[1] <= p[1] <= box[3]]
        for key in inside:
            for o in list(net.adj.get(key, ())):
                net.adj[o].discard(key)
                net.edges.pop(ekey(key, o), None)
            net.adj.pop(key, None)
            net.nodes.pop(key)
        for i in range(-half, half + 1):
            for j in range(-half, half + 1):
                net.nodes[("t", k, i, j)] = (cx + i * sx + rng.uniform(-0.08, 0.08) * sx, cy + j * sy + rng.uniform(-0.08, 0.08) * sy)
        for i in range(-half, half + 1):
            for j in range(-half, half + 1):
                if i < half and (j % 2 == 0 or rng.random() < 0.7): net.add_edge(("t", k, i, j), ("t", k, i + 1, j))
                if j < half and (i % 2 == 0 or rng.random() < 0.7): net.add_edge(("t", k, i, j), ("t", k, i, j + 1))
        # Join the town's edge streets to the lattice outside.
        outside = [key for key in net.nodes if key[0] != "t"]
        for i in range(-half, half + 1):
            for j in range(-half, half + 1):
                if abs(i) != half and abs(j) != half: continue
                if (i + j) % 2: continue
                p = net.nodes[("t", k, i, j)]
                o = min(outside, key=lambda q: dist_m(net.nodes[q], p))
                if dist_m(net.nodes[o], p) < 2500: net.add_edge(("t", k, i, j), o)
    # Keep the largest connected component only.
    seen, best = set(), []
    for s in sorted(net.adj, key=repr):
        if s in seen: continue
        comp, stack = [], [s]
        seen.add(s)
        while stack:
            u = stack.pop(); comp.append(u)
            for v in net.adj[u]:
                if v not in seen: seen.add(v); stack.append(v)
        if len(comp) > len(best): best = comp
    best = set(best)
    net.nodes = {k: v for k, v in net.nodes.items() if k in best}
    net.adj = {k: v for k, v in net.adj.items() if k in best}
    net.edges = {k: v for k, v in net.edges.items() if k[0] in best}
    return net


RANK = {"national": 6, "provincial": 5, "county": 4, "township": 3, "village": 2, "track": 1}


def lay_route(net, waypoints, cls, ref, name, maxspeed=None):
    keys = [net.nearest(w) for w in waypoints]
    for a, b in zip(keys, keys[1:]):
        p = net.path(a, b)
        for u, v in zip(p, p[1:]):
            e = net.edges[ekey(u, v)]
            if e["class"] is None or RANK[cls] > RANK[e["class"]]:
                e.update({"class": cls, "ref": ref, "name": name})
                if maxspeed: e["maxspeed"] = maxspeed


def trunk_routes(net, townships):
    seat = {t[0]: (t[4], t[5]) for t in townships}
    lay_route(net, [(82.13, 45.70), (82.40, 45.90), (82.70, 46.08), SEAT, (83.00, 46.36), (83.02, 46.52)], "national", "G219", "219国道")
    lay_route(net, [SEAT, (83.25, 46.22), (83.50, 46.18)], "provincial", "S201", "201省道")
    lay_route(net, [SEAT, seat["654225101"], (82.35, 46.42), (82.12, 46.40)], "provincial", "S318", "318省道")
    lay_route(net, [SEAT, (82.96, 45.95), (82.95, 45.74), (83.20, 45.60), (83.35, 45.55)], "provincial", "S221", "221省道")
    lay_route(net, [SEAT, seat["654225200"]], "county", "X101", "哈拉布拉乡道")
    lay_route(net, [SEAT, seat["654225201"], seat["654225202"]], "county", "X102", "新地—阿勒腾也木勒县道")
    lay_route(net, [seat["654225204"], seat["654225501"], seat["654225400"], SEAT], "county", "X103", "江格斯—察汗托海县道")
    lay_route(net, [seat["654225204"], seat["654225101"]], "county", "X104", "江格斯—吉也克县道")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "GeoData"))
    ap.add_argument("--density", type=int, default=1, help="lattice density; 2 gives a road network about 4x larger")
    ap.add_argument("--only", help="comma-separated layers to write")
    ap.add_argument("--bench-features", type=int, default=0, help="write only roads.geojson with this many segments (import benchmark)")
    args = ap.parse_args()
    rng = random.Random(SEED)
    os.makedirs(args.out, exist_ok=True)
    layers = {}

    county = build_county(rng)
    county_ring = ccw(closed(county))
    layers["county"] = [feat("county-654225", {"type": "Polygon", "coordinates": [county_ring]},
                             code="654225", name="裕民县", name_en="Yumin County", population=50000)]

    # Townships: Voronoi cells of the seats clipped to the (convex) county.
    seats = [(t[4], t[5]) for t in TOWNSHIPS]
    layers["townships"] = []
    for k, t in enumerate(TOWNSHIPS):
        cell = list(county)
        for m, o in enumerate(seats):
            if m == k: continue
            a, b = o[0] - seats[k][0], (o[1] - seats[k][1]) * 1.45
            c = a * (seats[k][0] + o[0]) / 2 + b * (seats[k][1] + o[1]) / 2
            cell = clip_halfplane(cell, a, b, c)
        layers["townships"].append(feat(f"township-{t[0]}", {"type": "Polygon", "coordinates": [ccw(closed(cell))]},
                                        code=t[0], name=t[1], name_en=t[2], kind=t[3], seat=r6((t[4], t[5])), population=t[6]))
    cells = {t["properties"]["code"]: t["geometry"]["coordinates"][0] for t in layers["townships"]}

    density = args.density
    if args.bench_features:
        density = max(1, math.ceil(math.sqrt(args.bench_features / 3300)))
    net = build_network(rng, county, density)
    while args.bench_features and len(net.edges) < args.bench_features:
        density += 1
        net = build_network(rng, county, density)
    trunk_routes(net, TOWNSHIPS)

    def township_of(p):
        for code, ring in cells.items():
            if point_in_ring(ring, p): return code
        return min(TOWNSHIPS, key=lambda t: dist_m((t[4], t[5]), p))[0]

    # Villages at lattice nodes, ≥ 4 km apart, near their township seat, off the high mountains.
    villages, taken = [], [(t[4], t[5]) for t in TOWNSHIPS]
    for t in TOWNSHIPS:
        code, names = t[0], VILLAGE_NAMES[t[0]]
        cands = [k for k in sorted(net.nodes, key=repr) if k[0] != 't' and township_of(net.nodes[k]) == code and terrain(net.nodes[k]) != "mountain"]
        cands.sort(key=lambda k: dist_m(net.nodes[k], (t[4], t[5])) * rng.uniform(0.8, 1.25))
        n = 0
        for k in cands:
            p = net.nodes[k]
            if any(dist_m(p, q) < 4200 for q in taken) or dist_m(p, (t[4], t[5])) < 2500: continue
            taken.append(p)
            pop = rng.randint(380, 1100) if t[3] in ("town", "township") else rng.randint(250, 600)
            villages.append({"code": f"{code}{n + 1:03d}", "name": names[n], "township": code, "node": k, "center": p,
                             "population": pop, "households": pop * 10 // 32})
            n += 1
            if n == len(names): break
        assert n == len(names), f"not enough room for villages of {t[1]}"

    # Village roads: every village centre is a node; its edges become village-class roads.
    for e in net.edges.values():
        pass
    layers["villages"] = []
    signals = ["广播/大喇叭", "鸣锣", "口哨", "手摇报警器"]
    for v in villages:
        geom = blob(rng, v["center"], rng.uniform(1300, 1800), rng.uniform(1200, 1700), n=12, jitter=0.18)
        v["ring"] = geom
        layers["villages"].append(feat(f"village-{v['code']}", {"type": "Polygon", "coordinates": [geom]},
                                       code=v["code"], name=v["name"], township=v["township"], center=r6(v["center"]),
                                       households=v["households"], population=v["population"],
                                       warning_signals="、".join(rng.sample(signals, rng.randint(2, 3)))))

    # Roads: one feature per lattice edge (a segment between junctions), bent slightly.
    roads, edge_ids = [], {}
    for n_e, (k, e) in enumerate(sorted(net.edges.items(), key=lambda kv: repr(kv[0]))):
        a, b = net.nodes[k[0]], net.nodes[k[1]]
        # A gentle bend: at most ~7% of the segment's length sideways.
        bend = rng.uniform(-0.07, 0.07)
        mid = ((a[0] + b[0]) / 2 - (b[1] - a[1]) * bend * 1.44, (a[1] + b[1]) / 2 + (b[0] - a[0]) * bend / 1.44)
        cls = e["class"]
        if cls is None:
            t = terrain(mid)
            cls = "track" if t == "mountain" else ("township" if rng.random() < 0.12 else "village")
        props = {"class": cls}
        if e.get("ref"): props["ref"] = e["ref"]
        if e.get("name"): props["name"] = e["name"]
        if e.get("maxspeed"): props["maxspeed"] = e["maxspeed"]
        rid = f"road-{n_e + 1:05d}"
        edge_ids[k] = rid
        # A few one-way lanes in the seat: the digitised direction is the allowed one.
        if cls in ("village", "township") and dist_m(mid, SEAT) < 3500 and rng.random() < 0.25:
            props["oneway"] = True
        roads.append(feat(rid, {"type": "LineString", "coordinates": [r6(a), r6(mid), r6(b)]}, **props))
        e["geom"] = [a, mid, b]
        e["props"] = props
        e["id"] = rid
    if args.bench_features:
        write(args.out, "roads", roads[: args.bench_features])
        print(f"wrote {min(len(roads), args.bench_features)} road segments (density {density}) to {args.out}")
        return
    layers["roads"] = roads

    # Rivers off the Barluk range, meandering north onto the fans and the plain.
    rivers = [("布尔干河", 82.42, 46.05, "river"), ("江格斯河", 82.58, 46.30, "river"), ("察汗托海河", 82.82, 46.35, "river"),
              ("哈拉布拉河", 82.96, 46.45, "river"), ("新地河", 83.08, 46.40, "river"), ("阿勒腾也木勒河", 83.26, 46.45, "river"),
              ("塔斯提沟", 82.30, 45.95, "stream"), ("阔克托别沟", 83.15, 46.05, "stream"), ("喀拉苏沟", 82.70, 45.98, "stream"),
              ("萨尔布拉克沟", 83.38, 46.00, "stream")]
    layers["rivers"], river_lines = [], []
    for n_r, (name, lon, end_lat, kind) in enumerate(rivers):
        lat = ridge_lat(lon) + 0.02
        pts, x = [], lon + rng.uniform(-0.03, 0.03)
        while lat < end_lat:
            pts.append((x, lat))
            lat += 0.012
            x += rng.uniform(-0.006, 0.006) + (0.002 if n_r % 2 else -0.002) * 0.5
        river_lines.append((name, pts))
        layers["rivers"].append(feat(f"river-{n_r + 1:03d}", {"type": "LineString", "coordinates": [r6(p) for p in pts]}, name=name, kind=kind))

    # Hazard zones where they make sense; every type at every level.
    hz = []
    def add_zone(type_, level, c, rx, ry, angle, name, season, n=14):
        ring = blob(rng, c, rx, ry, n=n, angle=angle, jitter=0.22)
        hh = sum(v["households"] for v in villages if point_in_ring(ring, v["center"]))
        pp = sum(v["population"] for v in villages if point_in_ring(ring, v["center"]))
        hh += rng.randint(0, 12); pp += hh * 3 if pp == 0 else 0
        hz.append(feat(f"hz-{len(hz) + 1:04d}", {"type": "Polygon", "coordinates": [ring]}, type=type_, level=level, name=name,
                       season=season, households=hh, people=pp, township=township_of(c)))
    def levels(n):
        lv = [1, 2, 3, 4] + [rng.randint(1, 4) for _ in range(max(0, n - 4))]
        rng.shuffle(lv)
        return lv
    def inside(p): return point_in_ring(county, p)
    def sample(pred, tries=5000):
        for _ in range(tries):
            p = (rng.uniform(BBOX[0], BBOX[2]), rng.uniform(BBOX[1], BBOX[3]))
            if inside(p) and pred(p): return p
        raise RuntimeError("no sample")
    for lv in levels(20):
        c = sample(lambda p: terrain(p) == "mountain")
        add_zone("forest_fire", lv, c, rng.uniform(2500, 5500), rng.uniform(1500, 3000), rng.uniform(-0.3, 0.3), "巴尔鲁克山林草火险区", "3-6月、9-11月")
    for lv in levels(18):
        name, line = river_lines[rng.randrange(len(river_lines))]
        pts = [p for p in line if terrain(p) == "foothill"] or line
        c = pts[rng.randrange(len(pts))]
        add_zone("flash_flood", lv, c, rng.uniform(800, 1500), rng.uniform(2500, 4500), rng.uniform(-0.2, 0.2), f"{name}山洪危险区", "5-8月")
    for lv in levels(16):
        name, line = river_lines[rng.randrange(len(river_lines))]
        c = line[min(len(line) - 1, rng.randint(1, 6))]
        add_zone("debris_flow", lv, c, rng.uniform(600, 1200), rng.uniform(1200, 2500), rng.uniform(-0.4, 0.4), f"{name}泥石流沟", "6-8月")
    for lv in levels(16):
        name, line = river_lines[rng.randrange(6)]
        pts = [p for p in line if terrain(p) == "plain"] or line
        c = pts[rng.randrange(len(pts))]
        add_zone("flood", lv, c, rng.uniform(700, 1300), rng.uniform(2500, 5000), rng.uniform(-0.2, 0.2), f"{name}洪涝风险区", "6-8月")
    track_edges = [e for e in net.edges.values() if e["props"]["class"] in ("track", "provincial") and terrain(e["geom"][1]) != "plain"]
    for lv in levels(14):
        e = track_edges[rng.randrange(len(track_edges))]
        add_zone("landslide", lv, e["geom"][1], rng.uniform(400, 900), rng.uniform(400, 900), 0, "山区道路滑坡隐患区", "4-9月")
    for lv, r in zip([1, 2, 3, 4, 2, 3, 4, 3], [6000, 11000, 17000, 24000, 5000, 7000, 9000, 6000]):
        c = EPICENTRE if r > 5000 and lv <= 4 and len([z for z in hz if z["properties"]["type"] == "earthquake"]) < 4 else sample(lambda p: dist_m(p, EPICENTRE) < 30000)
        add_zone("earthquake", lv, c, r, r * 0.8, 0.3, "2008年M5.1地震影响区" if c == EPICENTRE else "地震地质灾害易发区", "全年", n=18)
    for lv in levels(14):
        c = sample(lambda p: terrain(p) == "plain")
        add_zone("wind_hail", lv, c, rng.uniform(4000, 8000), rng.uniform(2500, 5000), rng.uniform(-1, 1), "农区风雹灾害区", "5-8月")
    pass_edges = [e for e in net.edges.values() if e["props"].get("ref") in ("S221", "S201", "G219") and terrain(e["geom"][1]) != "plain"]
    pass_edges += [e for e in net.edges.values() if e["props"].get("ref") == "G219" and e["geom"][1][1] > 46.3]
    for lv in levels(16):
        e = pass_edges[rng.randrange(len(pass_edges))]
        add_zone("snow", lv, e["geom"][1], rng.uniform(1500, 3500), rng.uniform(900, 1800), rng.uniform(-0.5, 0.5), "风吹雪、雪灾危险路段", "11月-次年3月")
    for lv, off in zip([1, 2, 3, 4, 3, 4], [(0.012, -0.008), (-0.015, 0.01), (0.02, 0.015), (-0.01, -0.02), (0.09, 0.03), (-0.2, 0.12)]):
        c = (SEAT[0] + off[0], SEAT[1] + off[1])
        add_zone("hazchem", lv, c, rng.uniform(300, 700), rng.uniform(300, 700), 0, ["加油站危化品风险区", "液化气站风险区", "农资化肥库风险区", "危化品运输停车场"][rng.randrange(4)], "全年")
    layers["hazard_zones"] = hz

    # Hazard points (gullies, slopes) linked to the nearest village.
    hp = []
    for n_h in range(64):
        t = rng.choice(["debris_flow", "landslide", "flash_flood", "landslide", "debris_flow", "flood"])
        v = villages[rng.randrange(len(villages))]
        c = (v["center"][0] + rng.uniform(-0.03, 0.03), v["center"][1] + rng.uniform(-0.02, 0.02))
        hp.append(feat(f"hp-{n_h + 1:04d}", {"type": "Point", "coordinates": r6(c)}, type=t, level=rng.randint(1, 4),
                       name=f"{v['name']}{ {'debris_flow': '泥石流沟', 'landslide': '滑坡点', 'flash_flood': '山洪沟口', 'flood': '低洼易涝点'}[t] }{n_h % 3 + 1}号",
                       village=v["code"], households=rng.randint(2, 30), people=rng.randint(6, 90), monitor=person(rng), phone=phone(rng)))
    layers["hazard_points"] = hp

    def near_node(p, jitter_m=150):
        kx, ky = mpd(p[1])
        return (p[0] + rng.uniform(-jitter_m, jitter_m) / kx, p[1] + rng.uniform(-jitter_m, jitter_m) / ky)

    # Fire: the county brigade at the seat and full-time teams at the other township seats.
    fs = [feat("fire-001", pt(near_node(net.nodes[net.nearest(SEAT)])), name="裕民县消防救援大队", kind="professional", township="654225100",
               personnel=42, vehicles=9, phone=phone(rng))]
    for t in TOWNSHIPS[1:]:
        fs.append(feat(f"fire-{len(fs) + 1:03d}", pt(near_node(net.nodes[net.nearest((t[4], t[5]))])), name=f"{t[1]}专职消防队",
                       kind="township_team", township=t[0], personnel=rng.randint(6, 14), vehicles=rng.randint(1, 3), phone=phone(rng)))
    layers["fire_stations"] = fs
    micro = []
    for v in villages:
        if rng.random() < 0.72 or len(micro) < 10:
            micro.append(feat(f"mfs-{len(micro) + 1:03d}", pt(near_node(v["center"], 120)), name=f"{v['name']}微型消防站", village=v["code"],
                              personnel=rng.randint(4, 9), equipment=rng.choice(["手抬机动泵1台、灭火器20具、水带10盘", "消防水罐车1辆、灭火器30具、风力灭火机2台", "灭火器24具、风力灭火机3台、二号工具40把"]),
                              phone=phone(rng)))
    layers["micro_fire_stations"] = micro

    items = [("帐篷", "顶"), ("棉被", "床"), ("折叠床", "张"), ("棉大衣", "件"), ("方便食品", "箱"), ("饮用水", "箱"), ("发电机", "台"),
             ("应急照明灯", "个"), ("救生衣", "件"), ("铁锹", "把"), ("编织袋", "条"), ("彩条布", "平方米")]
    def stock(scale):
        return [{"item": i, "unit": u, "quantity": rng.randint(5, 60) * scale} for i, u in rng.sample(items, rng.randint(6, len(items)))]
    wh = [feat("wh-001", pt(near_node(net.nodes[net.nearest((SEAT[0] + 0.02, SEAT[1] - 0.01))])), name="裕民县救灾物资储备库", level="county",
               managing_unit="裕民县应急管理局", phone=phone(rng), township="654225100", stock=stock(20))]
    for t in TOWNSHIPS[1:]:
        wh.append(feat(f"wh-{len(wh) + 1:03d}", pt(near_node(net.nodes[net.nearest((t[4] + 0.01, t[5]))])), name=f"{t[1]}救灾物资储备点", level="township",
                       managing_unit=f"{t[1]}人民政府", phone=phone(rng), township=t[0], stock=stock(4)))
    for v in rng.sample(villages, 5):
        wh.append(feat(f"wh-{len(wh) + 1:03d}", pt(near_node(v["center"], 100)), name=f"{v['name']}物资储备点", level="village",
                       managing_unit=f"{v['name']}村委会", phone=phone(rng), township=v["township"], stock=stock(1)))
    layers["warehouses"] = wh

    bs = []
    ops = ["china_mobile", "china_mobile", "china_unicom", "china_telecom", "china_broadnet"]
    for t in TOWNSHIPS:
        bs.append(feat(f"bs-{len(bs) + 1:03d}", pt(near_node((t[4], t[5]), 400)), name=f"{t[1]}超级基站", operator="china_mobile", kind="super",
                       backup_power_hours=72, status="in_service"))
    pass_nodes = [e["geom"][1] for e in pass_edges]
    for n_b in range(16):
        p = pass_nodes[rng.randrange(len(pass_nodes))] if n_b < 10 else net.nodes[sorted(net.nodes, key=repr)[rng.randrange(len(net.nodes))]]
        bs.append(feat(f"bs-{len(bs) + 1:03d}", pt(near_node(p, 300)), name=f"应急备份基站{n_b + 1:02d}", operator=rng.choice(ops[:3]), kind="backup",
                       backup_power_hours=rng.choice([24, 36, 48]), status="in_service" if n_b % 7 else "degraded"))
    for v in villages:
        bs.append(feat(f"bs-{len(bs) + 1:03d}", pt(near_node(v["center"], 700)), name=f"{v['name']}基站", operator=rng.choice(ops), kind="normal",
                       backup_power_hours=rng.choice([2, 3, 4, 6, 8]), status="in_service" if rng.random() < 0.93 else rng.choice(["degraded", "out_of_service"])))
    for n_b in range(12):
        e = [e for e in net.edges.values() if e["props"].get("ref")][rng.randrange(40)]
        bs.append(feat(f"bs-{len(bs) + 1:03d}", pt(near_node(e["geom"][1], 200)), name=f"{e['props']['ref']}沿线基站{n_b + 1:02d}", operator=rng.choice(ops),
                       kind="normal", backup_power_hours=rng.choice([4, 6, 8]), status="in_service"))
    layers["base_stations"] = bs

    # Road risks lie on road segments (copied geometry, with the road's id).
    rr = []
    trunk = sorted([e for e in net.edges.values() if e["props"].get("ref")], key=lambda e: e["id"])
    tracks = sorted([e for e in net.edges.values() if e["props"]["class"] == "track"], key=lambda e: e["id"])
    pass_sorted = sorted(pass_edges, key=lambda e: e["id"])
    used = set()
    def add_risk(e, rtype, note):
        if e["id"] in used: return False
        used.add(e["id"])
        n = len(rr)
        status = "closed" if n % 11 == 3 else ("restricted" if n % 5 == 1 else "open")
        rr.append(feat(f"rr-{n + 1:03d}", {"type": "LineString", "coordinates": [r6(p) for p in e["geom"]]}, risk_type=rtype,
                       level=rng.randint(1, 4), status=status, name=f"{e['props'].get('name') or '乡村道路'}{rtype_cn[rtype]}路段",
                       road=e["id"], note=note, updated_at=f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(6, 20):02d}:{rng.choice(['00', '15', '30', '45'])}:00+08:00"))
        return True
    rtype_cn = {"snow_drift": "风吹雪", "icing": "结冰", "landslide": "滑坡", "rockfall": "落石", "flood": "水毁", "debris_flow": "泥石流", "construction": "施工", "other": "其他风险"}
    while len(rr) < 22: add_risk(pass_sorted[rng.randrange(len(pass_sorted))], "snow_drift", "冬季风吹雪易阻断，需备除雪机械")
    while len(rr) < 32: add_risk(trunk[rng.randrange(len(trunk))], "icing", "路面结冰，限速通行")
    while len(rr) < 46: add_risk(tracks[rng.randrange(len(tracks))], rng.choice(["landslide", "rockfall"]), "山区道路边坡不稳")
    while len(rr) < 58: add_risk(sorted(net.edges.values(), key=lambda e: e["id"])[rng.randrange(len(net.edges))], rng.choice(["flood", "debris_flow"]), "汛期易水毁")
    while len(rr) < 64: add_risk(trunk[rng.randrange(len(trunk))], "construction", "道路施工，半幅通行")
    layers["road_risks"] = rr

    shelters = []
    for v in villages:
        shelters.append(feat(f"sh-{len(shelters) + 1:03d}", pt(near_node(v["center"], 250)), name=f"{v['name']}{rng.choice(['村委会广场', '村小学', '文化活动广场'])}避难场所",
                             village=v["code"], kind=rng.choice(["square", "school", "village_committee"]), capacity=rng.randint(3, 12) * 100,
                             person_in_charge=person(rng), phone=phone(rng)))
    for t in TOWNSHIPS:
        shelters.append(feat(f"sh-{len(shelters) + 1:03d}", pt(near_node((t[4], t[5]), 300)), name=f"{t[1]}{rng.choice(['中心学校', '体育场', '政府广场'])}应急避难场所",
                             kind=rng.choice(["school", "stadium", "square"]), capacity=rng.randint(10, 40) * 100, person_in_charge=person(rng), phone=phone(rng)))
    layers["shelters"] = shelters

    officers = []
    for v in villages:
        for role in ["info_officer", "info_officer", "info_officer", "admin_responsible", "evacuation_lead"]:
            officers.append(feat(f"io-{len(officers) + 1:04d}", pt(near_node(v["center"], 300)), name=person(rng), phone=phone(rng), role=role, village=v["code"], township=v["township"]))
    for t in TOWNSHIPS:
        for role in ["info_officer", "info_officer", "info_officer"]:
            officers.append(feat(f"io-{len(officers) + 1:04d}", pt(near_node((t[4], t[5]), 200)), name=person(rng), phone=phone(rng), role=role, township=t[0]))
    # The hard cases for print (issue #13), from their own random stream so that nothing above
    # moves: names written in Kazakh or Uyghur (Arabic) script beside their Chinese
    # transliteration, as the county's people have them, and one village (阿克乔克村) with a
    # full roster of group leaders and monitors — 40+ responsible persons on one page.
    rng2 = random.Random(SEED + 13)
    big = villages[0]
    for i in range(38):
        name = rng2.choice(UYGHUR + KAZAKH + [None] * 6)
        name = f"{name} {SCRIPT[name]}" if name else person(rng2)
        officers.append(feat(f"io-{len(officers) + 1:04d}", pt(near_node(big["center"], 400)), name=name, phone=phone(rng2),
                             role=["info_officer", "monitor", "evacuation_lead"][i % 3], village=big["code"], township=big["township"]))
    for f, key in [(o, "name") for o in officers] + [(s, "person_in_charge") for s in shelters] + [(h, "monitor") for h in layers["hazard_points"]]:
        n = f["properties"].get(key)
        if n in SCRIPT and rng2.random() < 0.7: f["properties"][key] = f"{n} {SCRIPT[n]}"
    # The first village's shelter is run by a Uyghur-speaking manager (the bidi test's case).
    first = next(s for s in shelters if s["properties"].get("village") == big["code"])
    first["properties"]["person_in_charge"] = f"{UYGHUR[0]} {SCRIPT[UYGHUR[0]]}"
    layers["info_officers"] = officers

    only = set(args.only.split(",")) if args.only else None
    for name, fs in layers.items():
        if only and name not in only: continue
        write(args.out, name, fs)
        print(f"{name:22s} {len(fs):6d}")


_PHONES = set()


def phone(rng):
    while True:
        p = f"0901-0{rng.randint(0, 999999):06d}"
        if p not in _PHONES:
            _PHONES.add(p)
            return p


def person(rng):
    if rng.random() < 0.45: return rng.choice(KAZAKH)
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def pt(p):
    return {"type": "Point", "coordinates": r6(p)}


def feat(fid, geom, **props):
    props["source"] = "demo"
    return {"type": "Feature", "id": fid, "geometry": geom, "properties": props}


def write(out, name, fs):
    with open(os.path.join(out, f"{name}.geojson"), "w", encoding="utf-8") as f:
        f.write('{"type":"FeatureCollection","name":"%s","features":[\n' % name)
        f.write(",\n".join(json.dumps(x, ensure_ascii=False, separators=(",", ":")) for x in fs))
        f.write("\n]}\n")


if __name__ == "__main__":
    main()
