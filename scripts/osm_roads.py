#!/usr/bin/env python3
"""OpenStreetMap roads (PBF or XML) → onemap's roads.geojson.

    .venv/bin/python scripts/osm_roads.py Helsinki.osm.pbf out/roads.geojson

Drivable `highway=*` ways become roads: class from the highway value, `oneway` (including
`oneway=-1`, reversed, and roundabouts), `maxspeed` in km/h, `bridge`, `tunnel`, `layer`, `name`,
`ref`. Every feature says where it comes from: "© OpenStreetMap contributors (ODbL)". Needs
pyosmium (`pip install osmium`; scripts/bootstrap puts it in .venv). Issue #12 brings GDAL's OSM
reader into `onemap import`; this script is the tests' way in until then.
"""
import json
import re
import sys

import osmium

CLASS = {
    "motorway": "expressway", "trunk": "national", "primary": "provincial", "secondary": "county",
    "tertiary": "township", "unclassified": "village", "residential": "village", "living_street": "village",
    "service": "village", "road": "village", "track": "track",
}


class Roads(osmium.SimpleHandler):
    def __init__(self):
        super().__init__()
        self.features = []
        self.cut = []

    def way(self, w):
        hw = w.tags.get("highway")
        if hw is None:
            return
        base = hw[:-5] if hw.endswith("_link") else hw
        cls = CLASS.get(base)
        if cls is None or w.tags.get("area") == "yes":
            return
        try:
            coords = [[round(n.lon, 7), round(n.lat, 7)] for n in w.nodes]
        except osmium.InvalidLocationError:
            # A node outside the extract: the way is left out (recorded with how many of its nodes
            # are inside, so tests can tell).
            self.cut.append([w.id, sum(1 for n in w.nodes if n.location.valid())])
            return
        if len(coords) < 2:
            return
        ow = w.tags.get("oneway", "")
        oneway = ow in ("yes", "1", "true") or w.tags.get("junction") in ("roundabout", "circular") or base == "motorway"
        if ow == "-1":
            coords.reverse()
            oneway = True
        props = {"class": cls, "source": "© OpenStreetMap contributors (ODbL)"}
        if oneway:
            props["oneway"] = True
        m = re.match(r"^\s*(\d+)\s*(km/h)?\s*$", w.tags.get("maxspeed", ""))
        if m and 5 <= int(m.group(1)) <= 130:
            props["maxspeed"] = int(m.group(1))
        if w.tags.get("bridge", "no") not in ("no", "0", "false"):
            props["bridge"] = True
        if w.tags.get("tunnel", "no") not in ("no", "0", "false"):
            props["tunnel"] = True
        try:
            layer = int(w.tags.get("layer", "0"))
            if layer and -5 <= layer <= 5:
                props["layer"] = layer
        except ValueError:
            pass
        for k in ("name", "ref"):
            if w.tags.get(k):
                props[k] = w.tags.get(k)
        self.features.append({"type": "Feature", "id": "osm-way-%d" % w.id,
                              "geometry": {"type": "LineString", "coordinates": coords}, "properties": props})


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: osm_roads.py INPUT.osm.pbf OUTPUT.geojson")
    h = Roads()
    h.apply_file(sys.argv[1], locations=True)
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump({"type": "FeatureCollection", "features": h.features, "ways_with_missing_nodes": h.cut}, f, ensure_ascii=False)
    print("%d roads" % len(h.features))


if __name__ == "__main__":
    main()
