// The command-centre web map: our tiles, switchable thematic overlays from the API, incident
// analysis (nearest resources with routes), coverage and village printing.
"use strict";
const COUNTY = [[45.45, 82.05], [46.55, 83.55]];
const map = L.map("map", { zoomControl: true, preferCanvas: true, zoomSnap: 0.5 }).fitBounds([[45.5, 82.1], [46.5, 83.5]], { padding: [0, 0] });
let base = null;
function setBase() {
  const mode = document.querySelector("input[name=base]:checked").value;
  const style = mode + (document.getElementById("dark").checked ? "-dark" : "");
  if (base) map.removeLayer(base);
  base = L.tileLayer(`/tiles/${style}/{z}/{x}/{y}${L.Browser.retina ? "@2x" : ""}.png`, {
    maxZoom: 18, attribution: "onemap · 演示数据(合成)", className: "basetiles" }).addTo(map);
  base.on("load", () => { document.body.dataset.tilesLoaded = "yes"; });
  // The credits the data needs (demo data; © OpenStreetMap contributors when OSM data was imported).
  const layer = base;
  fetch(`/tiles/${style}.json`).then(r => r.ok ? r.json() : null).then(tj => {
    if (!tj || !tj.attribution || layer !== base) return;
    map.attributionControl.removeAttribution(layer.options.attribution);
    layer.options.attribution = tj.attribution;
    map.attributionControl.addAttribution(tj.attribution);
  }).catch(() => {});
  // The full raster already shows the thematic layers: hide the overlays then.
  for (const g of Object.values(overlays)) if (mode === "command") map.removeLayer(g); else if (g._wanted) g.addTo(map);
}
document.querySelectorAll("input[name=base], #dark").forEach(e => e.addEventListener("change", setBase));

const HAZARDS = { flood: "洪涝", flash_flood: "山洪", debris_flow: "泥石流", landslide: "滑坡", earthquake: "地震",
  forest_fire: "森林草原火灾", wind_hail: "风雹", snow: "雪灾/风吹雪", hazchem: "危化品" };
const LEVEL = { 1: "#e31a1c", 2: "#ff7f00", 3: "#f5c400", 4: "#2b83ba" };
const LEVELNAME = { 1: "Ⅰ级(红)", 2: "Ⅱ级(橙)", 3: "Ⅲ级(黄)", 4: "Ⅳ级(蓝)" };
const RESOURCES = {
  fire_stations: ["消防站", "#d7191c", 9], micro_fire_stations: ["微型消防站", "#f05533", 6], warehouses: ["救灾物资储备库", "#2c5aa0", 8],
  shelters: ["避难场所", "#1a9641", 6], base_stations: ["通信基站", "#6a3d9a", 5], road_risks: ["道路风险路段", "#c00000", 0],
  villages: ["村", "#777", 4] };
const LABELS = { name: "名称", kind: "类型", level: "等级", type: "灾种", personnel: "人员", vehicles: "车辆", phone: "电话",
  capacity: "容纳人数", person_in_charge: "负责人", status: "状态", operator: "运营商", backup_power_hours: "备用电源(小时)",
  households: "户数", people: "人数", population: "人口", season: "季节", managing_unit: "管理单位", equipment: "装备",
  risk_type: "风险类型", note: "说明", updated_at: "更新时间", village: "村", township: "乡镇", code: "代码", warning_signals: "预警信号" };
const overlays = {};

function esc(s) { return String(s).replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c])); }
function popup(layer, f) {
  const p = f.properties;
  let h = `<b>${esc(p.name || HAZARDS[p.type] || f.id)}</b><table>`;
  for (const [k, v] of Object.entries(p)) {
    if (k === "stock" || k === "source" || k === "center" || k === "seat" || v === null) continue;
    let val = v;
    if (k === "type" && HAZARDS[v]) val = HAZARDS[v];
    if (k === "level" && layer === "hazard_zones") val = LEVELNAME[v];
    h += `<tr><td>${esc(LABELS[k] || k)}</td><td>${esc(val)}</td></tr>`;
  }
  h += "</table>";
  if (p.stock) h += "<b>库存</b><table>" + p.stock.map(s => `<tr><td>${esc(s.item)}</td><td>${s.quantity} ${esc(s.unit)}</td></tr>`).join("") + "</table>";
  if (layer === "villages") h += `<p><a href="/print/village/${encodeURIComponent(f.id)}.pdf" target="_blank">打印本村灾害风险图 (PDF)</a></p>`;
  return h + `<small>${esc(layer)} · ${esc(f.id)} · 演示数据</small>`;
}

async function api(url) {
  const r = await fetch(url);
  const j = await r.json();
  if (!r.ok) throw new Error(j.error ? j.error.message : r.statusText);
  return j;
}

function toggle(container, key, label, colour, group) {
  const id = "t-" + key;
  const d = document.createElement("label");
  d.className = "toggle";
  d.innerHTML = `<input type="checkbox" id="${id}" checked><span class="swatch" style="background:${colour}"></span>${esc(label)}`;
  container.appendChild(d);
  group._wanted = true;
  d.querySelector("input").addEventListener("change", e => {
    group._wanted = e.target.checked;
    if (e.target.checked && document.querySelector("input[name=base]:checked").value !== "command") group.addTo(map); else map.removeLayer(group);
  });
}

async function loadOverlays() {
  const zones = await api("/api/features/hazard_zones?limit=10000");
  const byType = {};
  for (const f of zones.features) (byType[f.properties.type] ||= []).push(f);
  for (const [t, name] of Object.entries(HAZARDS)) {
    const g = L.geoJSON({ type: "FeatureCollection", features: byType[t] || [] }, {
      style: f => ({ color: LEVEL[f.properties.level], weight: 1.5, fillOpacity: ["earthquake", "wind_hail"].includes(t) ? 0.1 : 0.28 }),
      onEachFeature: (f, l) => l.bindPopup(popup("hazard_zones", f)) });
    overlays["hz-" + t] = g.addTo(map);
    toggle(document.getElementById("hazards"), "hz-" + t, `${name} (${(byType[t] || []).length})`, "#e31a1c", g);
  }
  for (const [layer, [name, colour, radius]] of Object.entries(RESOURCES)) {
    const fc = await api(`/api/features/${layer}?limit=10000`);
    const g = L.geoJSON(fc, {
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius, color: "#fff", weight: 1.5, fillColor: colour, fillOpacity: 0.95 }),
      style: f => f.geometry.type === "Point" ? {} : layer === "road_risks"
        ? { color: { closed: "#c00000", restricted: "#ff7f00", open: "#f5c400" }[f.properties.status], weight: 6 }
        : { color: "#9c8a6a", weight: 1, fillOpacity: 0.02 },
      onEachFeature: (f, l) => l.bindPopup(popup(layer, f)) });
    overlays[layer] = g.addTo(map);
    toggle(document.getElementById("resources"), layer, `${name} (${fc.features.length})`, colour, g);
  }
  document.body.dataset.overlaysLoaded = "yes";
}

// Incident analysis
const KINDNAME = { fire_stations: "消防队", micro_fire_stations: "微型消防站", warehouses: "物资储备库", shelters: "避难场所" };
const KINDCOLOUR = { fire_stations: "#ff2d2d", micro_fire_stations: "#ff9a3c", warehouses: "#4aa3ff", shelters: "#2ecc71" };
const analysis = L.layerGroup().addTo(map);
function minutes(s) { return s == null ? "—" : (s / 60).toFixed(1) + " 分钟"; }
map.on("click", e => placeIncident(e.latlng.lat, e.latlng.lng));
async function placeIncident(lat, lng) {
  analysis.clearLayers();
  L.marker([lat, lng], { title: "事发地点" }).addTo(analysis);
  const out = document.getElementById("results");
  out.innerHTML = "<h2>最近资源</h2><p>计算中…</p>";
  try {
    const r = await api(`/api/nearest?lon=${lng.toFixed(6)}&lat=${lat.toFixed(6)}&k=1`);
    let h = `<h2>最近资源</h2><p class="hint">事发点 ${lng.toFixed(4)}, ${lat.toFixed(4)}（距道路 ${r.snap_metres} 米）</p>`;
    for (const x of r.resources) {
      h += `<div class="hit" style="border-color:${KINDCOLOUR[x.kind]}" data-kind="${x.kind}"><div>${KINDNAME[x.kind]}</div><b>${esc(x.name)}</b><br>`;
      if (x.reachable) {
        h += `<span class="eta">${minutes(x.eta_seconds)}</span> 到达 · 行车 ${minutes(x.drive_seconds)} · 路程 ${(x.road_metres / 1000).toFixed(1)} km（直线 ${(x.straight_metres / 1000).toFixed(1)} km）`;
        L.geoJSON(x.route, { style: { color: KINDCOLOUR[x.kind], weight: 6, opacity: 0.9 } }).addTo(analysis);
      } else h += `<span class="bad">无法到达：${esc(x.note || "")}</span>`;
      h += "</div>";
    }
    out.innerHTML = h;
    document.body.dataset.nearestShown = "yes";
    document.body.dataset.routesDrawn = String(r.resources.filter(x => x.reachable).length);
  } catch (err) { out.innerHTML = `<h2>最近资源</h2><p class="bad">${esc(err.message)}</p>`; }
}

document.getElementById("coverage").addEventListener("click", async () => {
  analysis.clearLayers();
  const out = document.getElementById("results");
  const r = await api("/api/coverage?kind=fire_stations&minutes=5");
  L.geoJSON(r, { pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 9, color: "#fff", weight: 2, fillOpacity: 0.95,
      fillColor: f.properties.meets_standard ? "#2ecc71" : "#e31a1c" }),
    onEachFeature: (f, l) => l.bindPopup(`<b>${esc(f.properties.village)}</b><br>最近消防队：${esc(f.properties.best || "无")}<br>响应时间：${minutes(f.properties.response_seconds)}`) }).addTo(analysis);
  out.innerHTML = `<h2>5分钟覆盖</h2><p>${r.villages_meeting_standard} / ${r.villages} 个村在 5 分钟（含出动 1 分钟）内可达。绿色达标，红色未达标。</p>`;
});
document.getElementById("clear").addEventListener("click", () => { analysis.clearLayers(); document.getElementById("results").innerHTML = ""; });

document.getElementById("search").addEventListener("submit", async e => {
  e.preventDefault();
  const q = document.getElementById("q").value.trim();
  if (!q) return;
  const out = document.getElementById("results");
  try {
    const hits = await api(`/api/search?q=${encodeURIComponent(q)}&limit=15`);
    out.innerHTML = "<h2>搜索结果</h2><div id='searchhits'>" + (hits.length ? hits.map((h, i) =>
      `<div data-i="${i}">${esc(h.name)} <small>(${esc((RESOURCES[h.layer] || [h.layer])[0])})</small></div>`).join("") : "无结果") + "</div>";
    out.querySelectorAll("#searchhits div").forEach(d => d.addEventListener("click", () => {
      const h = hits[+d.dataset.i];
      map.flyTo([h.location[1], h.location[0]], 14);
      L.popup().setLatLng([h.location[1], h.location[0]]).setContent(esc(h.name)).openOn(map);
    }));
  } catch (err) { out.innerHTML = `<p class="bad">${esc(err.message)}</p>`; }
});

setBase();
// A link can open the map with an incident already placed: /?incident=lon,lat
const shared = new URLSearchParams(location.search).get("incident");
loadOverlays().then(() => {
  setBase();
  if (shared) { const [lon, lat] = shared.split(",").map(Number); if (isFinite(lon) && isFinite(lat)) { map.setView([lat, lon], 12); placeIncident(lat, lon); } }
}).catch(err => { document.getElementById("results").innerHTML = `<p class="bad">${esc(err.message)}</p>`; });
