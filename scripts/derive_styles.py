#!/usr/bin/env python3
"""Derives the other shipped styles from Styles/command.json (edit that one, then run this):

- command-dark.json: for dark command-centre screens — the same layers, filters and zoom
  functions, base map darkened and labels inverted; hazard, risk and resource colours keep their
  meaning (red/orange/yellow/blue) and stay bright.
- command-base.json / command-base-dark.json: the base layers only (no hazards, resources or
  road risks), under the web map's switchable vector overlays.

    python3 scripts/derive_styles.py
"""
import json, os
root = os.path.join(os.path.dirname(__file__), "..")
s = json.load(open(os.path.join(root, "Styles/command.json")))
s["name"] = "command-dark"
s["metadata"]["onemap:title"] = "裕民县应急指挥一张图（夜间）"
BASE = {"#e6e4df": "#0b0f14", "#f7f5ef": "#18202b", "#ece4d2": "#232c38", "#9c8a6a": "#58667a", "#8a7b9b": "#8f7fb0", "#6b4f8a": "#b39ddb",
        "#5aa6d8": "#2f7fb5", "#9b7b52": "#7d6a50", "#8f8f8f": "#0b0f14", "#a0692a": "#0b0f14", "#ffffff": "#4a5566", "#fff2a8": "#8c7f3a",
        "#f7d154": "#b58f1e", "#f29b3d": "#d9822b", "#222222": "#e8edf2", "#3a2a50": "#e6dcff", "#1d3f73": "#9ec5ff", "#a50f15": "#ff8a8a",
        "#0b6623": "#8fe3a5", "#4a2a6a": "#d7b8ff", "#5a3a10": "#f0d5a8", "#1f5f8b": "#8cc8f0"}
def walk(v):
    if isinstance(v, dict): return {k: walk(x) for k, x in v.items()}
    if isinstance(v, list): return [walk(x) for x in v]
    if isinstance(v, str):
        if v in BASE: return BASE[v]
        if v.startswith("rgba(255,255,255"): return "rgba(8,12,18,0.9)"
    return v
s["layers"] = walk(s["layers"])
# Dark markers for places would vanish on a dark base: light them.
for l in s["layers"]:
    if l["id"] == "townships-label": l["paint"]["icon-color"] = "#d0c4ec"
    if l["id"] == "villages-label": l["paint"]["icon-color"] = "#c8d0da"
for l in s["layers"]:
    if l["id"] == "hazard-zones-fill":
        l["paint"]["fill-opacity"] = ["match", ["get", "type"], ["earthquake", "wind_hail"], ["interpolate", ["linear"], ["zoom"], 8, 0.2, 14, 0.14],
                                      ["interpolate", ["linear"], ["zoom"], 8, 0.45, 12, 0.38, 15, 0.3]]
json.dump(s, open(os.path.join(root, "Styles/command-dark.json"), "w"), ensure_ascii=False, indent=1)

THEMATIC = {"hazard_zones", "hazard_points", "fire_stations", "micro_fire_stations", "warehouses", "shelters", "base_stations", "road_risks", "incidents"}
for src, dst, title in [("command.json", "command-base.json", "裕民县应急指挥一张图底图"), ("command-dark.json", "command-base-dark.json", "裕民县应急指挥一张图底图（夜间）")]:
    b = json.load(open(os.path.join(root, "Styles", src)))
    b["name"] = dst[:-5]
    b["metadata"]["onemap:title"] = title
    b["layers"] = [l for l in b["layers"] if l.get("source-layer") not in THEMATIC]
    json.dump(b, open(os.path.join(root, "Styles", dst), "w"), ensure_ascii=False, indent=1)

# print.json: the village hazard map page (white paper, stronger hazard fills, labels shown earlier).
p = json.load(open(os.path.join(root, "Styles/command.json")))
p["name"] = "print"
p["metadata"]["onemap:title"] = "村级灾害风险与避险转移图"
# A village's printed map lasts for seasons: today's incidents are not on it.
p["layers"] = [l for l in p["layers"] if l.get("source-layer") != "incidents"]
for l in p["layers"]:
    if l["id"] == "background": l["paint"]["background-color"] = "#ffffff"
    if l["id"] == "county-fill": l["paint"]["fill-color"] = "#fcfbf8"
    if l["id"] == "hazard-zones-fill":
        l["paint"]["fill-opacity"] = ["match", ["get", "type"], ["earthquake", "wind_hail"], 0.14, 0.34]
    if l["id"] in ("hazard-zones-label", "hazard-points", "micro-fire-stations", "shelters", "base-stations"):
        l["minzoom"] = 10
    if l["id"] == "villages-fill": l["paint"]["fill-opacity"] = 0.25
json.dump(p, open(os.path.join(root, "Styles/print.json"), "w"), ensure_ascii=False, indent=1)
