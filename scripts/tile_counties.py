#!/usr/bin/env python3
"""Tiles the demonstration county N × N times into one large synthetic region (issue #14).

    python3 scripts/tile_counties.py OUT_DIR [--grid 10] [--src GeoData]

Every layer of SRC is copied once per grid cell, shifted east and south by the county's extent
(plus a gap), with ids, codes and the references between them (township, village, road) given
a "-<k>" suffix so that each copy is its own county: --grid 10 gives 100 counties (6,500
villages, 280,700 road segments, about 378,000 features), the store the tile benchmark calls
"the 100-county store". Synthetic like its source: every feature keeps "source": "demo".
Import with `onemap import OUT_DIR --db region.sqlite`.
"""
import argparse
import json
import os

REFS = ("code", "township", "village", "road")


def shift(v, dx, dy):
    if isinstance(v, list):
        if len(v) >= 2 and all(isinstance(x, (int, float)) for x in v[:2]) and not any(isinstance(x, list) for x in v):
            return [round(v[0] + dx, 7), round(v[1] + dy, 7)] + v[2:]
        return [shift(x, dx, dy) for x in v]
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--grid", type=int, default=10)
    ap.add_argument("--src", default=os.path.join(os.path.dirname(__file__), "..", "GeoData"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    layers = {f[:-8]: json.load(open(os.path.join(a.src, f), encoding="utf-8")) for f in sorted(os.listdir(a.src)) if f.endswith(".geojson")}
    xs, ys = [], []
    for c in layers["county"]["features"]:
        for ring in c["geometry"]["coordinates"]:
            xs += [p[0] for p in ring]
            ys += [p[1] for p in ring]
    w, h = (max(xs) - min(xs)) * 1.02, (max(ys) - min(ys)) * 1.02
    total = 0
    for name, fc in layers.items():
        out = []
        for k in range(a.grid * a.grid):
            dx, dy = (k % a.grid) * w, -(k // a.grid) * h
            for f in fc["features"]:
                g = dict(f)
                g["id"] = f"{f['id']}-{k}"
                g["geometry"] = {"type": f["geometry"]["type"], "coordinates": shift(f["geometry"]["coordinates"], dx, dy)}
                p = dict(f["properties"])
                for r in REFS:
                    if isinstance(p.get(r), str):
                        p[r] = f"{p[r]}-{k}"
                for key in ("center", "seat"):
                    if isinstance(p.get(key), list):
                        p[key] = shift(p[key], dx, dy)
                g["properties"] = p
                out.append(g)
        with open(os.path.join(a.out, name + ".geojson"), "w", encoding="utf-8") as fh:
            json.dump({"type": "FeatureCollection", "features": out}, fh, ensure_ascii=False)
        total += len(out)
        print(f"{name:22s} {len(out):8d}")
    print(f"{'total':22s} {total:8d}")


if __name__ == "__main__":
    main()
