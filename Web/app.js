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
  hazard_points: ["隐患点", "#b30000", 5],
  villages: ["村", "#777", 4] };
const LABELS = { name: "名称", kind: "类型", level: "等级", type: "灾种", personnel: "人员", vehicles: "车辆", phone: "电话",
  capacity: "容纳人数", person_in_charge: "负责人", status: "状态", operator: "运营商", backup_power_hours: "备用电源(小时)",
  households: "户数", people: "人数", population: "人口", season: "季节", managing_unit: "管理单位", equipment: "装备",
  risk_type: "风险类型", note: "说明", updated_at: "更新时间", village: "村", township: "乡镇", code: "代码", warning_signals: "预警信号",
  occupancy: "在场人数", monitor: "监测人" };
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
  if (document.body.classList.contains("editor")) h += editForm(layer, f);
  return h + `<small>${esc(layer)} · ${esc(f.id)} · 演示数据</small>`;
}

// Editing from the map (editors): the popup's form writes through the API with the version the
// popup was opened at; a 412 shows who changed it meanwhile and the new state.
function editForm(layer, f) {
  const d = `data-layer="${esc(layer)}" data-id="${esc(f.id)}"`;
  if (layer === "road_risks") return `<div class="form" ${d}><b>通行状态</b><br>
    <button data-status="closed">封闭</button><button data-status="restricted">限行</button><button data-status="open">恢复通行</button>
    <input name="note" placeholder="说明（可选）"><p class="msg"></p></div>`;
  if (layer === "shelters") return `<div class="form" ${d}><b>开放状态与在场人数</b><br>
    <select name="status"><option value="open">开放</option><option value="full">已满</option><option value="closed">关闭</option></select>
    <input name="occupancy" type="number" min="0" placeholder="在场人数" style="width:7em"><button data-act="shelter">保存</button><p class="msg"></p></div>`;
  if (layer === "warehouses") return `<div class="form" ${d}><b>库存变动</b><br>
    <input name="item" placeholder="物资，如 帐篷" style="width:8em"><input name="delta" type="number" placeholder="±数量" style="width:6em">
    <input name="unit" placeholder="单位" style="width:4em"><button data-act="stock">保存</button><p class="msg"></p></div>`;
  return "";
}
map.on("popupopen", async e => {
  let form = e.popup.getElement().querySelector(".form");
  if (!form) return;
  const { layer, id } = form.dataset;
  // What the popup shows and the version its writes carry come from one read: the feature as it
  // is now (the overlay may be older), so a save never overwrites a change the editor did not see.
  let version = null;
  try {
    const fresh = await api(`/api/features/${layer}/${encodeURIComponent(id)}`);
    version = fresh.version;
    if (!e.popup.isOpen()) return;
    // What was typed while the feature was read is carried into the fresh form.
    const typed = [...form.querySelectorAll("input, select")].filter(i => i.tagName === "SELECT"
      ? [...i.options].some(o => o.selected !== o.defaultSelected) : i.value !== i.defaultValue).map(i => [i.name, i.value]);
    e.popup.setContent(popup(layer, fresh));
    form = e.popup.getElement().querySelector(".form");
    for (const [name, value] of typed) { const i = form.querySelector(`[name="${name}"]`); if (i) i.value = value; }
  } catch {}
  const msg = form.querySelector(".msg");
  form.dataset.version = String(version);
  openForm = { layer, id, popup: e.popup };
  async function send(url, body) {
    msg.className = "msg"; msg.textContent = "保存中…";
    try {
      const j = await write("POST", url, body, version);
      version = j.version;
      form.dataset.version = String(version);
      msg.className = "msg ok"; msg.textContent = `已保存（版本 ${j.version}）`;
      reloadLayer(layer);
    } catch (err) {
      msg.className = "msg bad";
      if (err.status === 412 && err.body.error.current) {
        const cur = err.body.error.current;
        version = cur.version;
        msg.textContent = `${err.message} 现状：${JSON.stringify(cur.properties.status ?? "")}`;
        reloadLayer(layer);
      } else msg.textContent = err.message;
    }
  }
  form.querySelectorAll("button[data-status]").forEach(b => b.addEventListener("click", () =>
    send(`/api/road_risks/${encodeURIComponent(id)}/status`, { status: b.dataset.status, note: form.querySelector("[name=note]").value || null })));
  const sh = form.querySelector("button[data-act=shelter]");
  if (sh) sh.addEventListener("click", () => {
    const body = { status: form.querySelector("[name=status]").value };
    const occ = form.querySelector("[name=occupancy]").value;
    if (occ !== "") body.occupancy = Number(occ);
    send(`/api/shelters/${encodeURIComponent(id)}/status`, body);
  });
  const st = form.querySelector("button[data-act=stock]");
  if (st) st.addEventListener("click", () => {
    const body = { item: form.querySelector("[name=item]").value.trim(), delta: Number(form.querySelector("[name=delta]").value) };
    const unit = form.querySelector("[name=unit]").value.trim();
    if (unit) body.unit = unit;
    send(`/api/warehouses/${encodeURIComponent(id)}/stock`, body);
  });
});

async function api(url) {
  const r = await fetch(url);
  const j = await r.json();
  if (!r.ok) throw new Error(j.error ? j.error.message : r.statusText);
  return j;
}

// Signed-in account (from GET /api/session); writes made with the session cookie carry its CSRF token.
let me = { signed_in: false };
class WriteError extends Error { constructor(status, body) { super(body.error ? body.error.message : String(status)); this.status = status; this.body = body; } }
async function write(method, url, body, version) {
  const headers = { "Content-Type": "application/json" };
  if (me.csrf) headers["X-CSRF-Token"] = me.csrf;
  if (version != null) headers["If-Match"] = `"${version}"`;
  // When the write was sent: another screen may apply its event before this response is read.
  document.body.dataset.lastWriteSentAt = String(Date.now());
  const r = await fetch(url, { method, headers, body: body == null ? undefined : JSON.stringify(body) });
  const j = r.status === 204 ? {} : await r.json();
  if (!r.ok) throw new WriteError(r.status, j);
  document.body.dataset.lastWriteAt = String(Date.now());
  return j;
}
function showWho() {
  document.getElementById("who").textContent = me.signed_in ? `${me.name}（${{ viewer: "查看", editor: "编辑", admin: "管理" }[me.role] || me.role}）` : "未登录";
  document.getElementById("signin").hidden = me.signed_in;
  document.getElementById("signout").hidden = !me.signed_in || me.via !== "session";
  document.body.classList.toggle("editor", me.signed_in && (me.role === "editor" || me.role === "admin"));
  document.body.dataset.signedIn = me.signed_in ? me.name : "";
}
async function loadSession() {
  try { me = await api("/api/session"); } catch { me = { signed_in: false }; }
  showWho();
}
document.getElementById("signin").addEventListener("click", () => {
  document.getElementById("signin-error").textContent = "";
  document.getElementById("signin-dialog").showModal();
});
document.getElementById("signin-form").addEventListener("submit", async e => {
  if (e.submitter && e.submitter.value === "cancel") return;
  e.preventDefault();
  const f = new FormData(e.target);
  try {
    me = await write("POST", "/api/session", { name: f.get("name"), password: f.get("password") });
    document.getElementById("signin-dialog").close();
    e.target.reset();
    showWho();
    reloadAll();  // names and phones of people are shown to signed-in users
  } catch (err) { document.getElementById("signin-error").textContent = err.message; }
});
document.getElementById("signout").addEventListener("click", async () => {
  try { await write("DELETE", "/api/session"); } catch {}
  me = { signed_in: false };
  showWho();
  reloadAll();
});

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
    const g = L.geoJSON(null, {
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius, color: "#fff", weight: 1.5, fillColor: colour, fillOpacity: 0.95 }),
      style: f => f.geometry.type === "Point" ? {} : layer === "road_risks"
        ? { color: { closed: "#c00000", restricted: "#ff7f00", open: "#f5c400" }[f.properties.status], weight: 6 }
        : { color: "#9c8a6a", weight: 1, fillOpacity: 0.02 },
      onEachFeature: (f, l) => l.bindPopup(() => popup(layer, f)) });
    overlays[layer] = g.addTo(map);
    const n = await reloadLayer(layer);
    toggle(document.getElementById("resources"), layer, `${name} (${n})`, colour, g);
  }
  document.body.dataset.overlaysLoaded = "yes";
}

// Reloads one overlay from the API (after an edit here or an event from another screen).
const reloads = {};
// The editing popup open now: its layer is not redrawn under it (that would close it and lose what
// the editor typed); the redraw waits until it closes, and the popup says the feature changed.
let openForm = null;
const deferred = new Set();
map.on("popupclose", e => {
  document.body.dataset.popupClosedAt = String(Date.now());
  if (!openForm || openForm.popup !== e.popup) return;
  const layer = openForm.layer;
  openForm = null;
  if (deferred.delete(layer)) reloadLayer(layer);
});
async function reloadLayer(layer) {
  const g = overlays[layer];
  if (!g) return 0;
  if (openForm && openForm.layer === layer) { deferred.add(layer); return 0; }
  // One reload at a time per layer; a request during one runs once more after it.
  if (reloads[layer]) { reloads[layer].again = true; return reloads[layer].promise; }
  const state = { again: false };
  reloads[layer] = state;
  state.promise = (async () => {
    let n = 0, waiting = false;
    do {
      state.again = false;
      const fc = await api(`/api/features/${layer}?limit=10000`);
      // A form opened on this layer while the request was out: redrawing the layer would close
      // it and lose what is being typed; the reload waits for the popup to close.
      if (openForm && openForm.layer === layer) { deferred.add(layer); waiting = true; break; }
      g.clearLayers();
      g.addData(fc);
      n = fc.features.length;
    } while (state.again);
    delete reloads[layer];
    if (!waiting) document.body.dataset[`loaded_${layer}`] = String(Date.now());
    return n;
  })();
  return state.promise;
}
function reloadAll() {
  for (const layer of Object.keys(RESOURCES)) reloadLayer(layer).catch(() => {});
  loadIncidents().catch(() => {});
  if (lastIncidentAt) placeIncident(lastIncidentAt[0], lastIncidentAt[1]);
}

// Incident analysis
const KINDNAME = { fire_stations: "消防队", micro_fire_stations: "微型消防站", warehouses: "物资储备库", shelters: "避难场所" };
const KINDCOLOUR = { fire_stations: "#ff2d2d", micro_fire_stations: "#ff9a3c", warehouses: "#4aa3ff", shelters: "#2ecc71" };
const analysis = L.layerGroup().addTo(map);
function minutes(s) { return s == null ? "—" : (s / 60).toFixed(1) + " 分钟"; }
let lastIncidentAt = null;
let clickMode = null;  // null: nearest-resource analysis; or a pending edit (see below)
map.on("click", e => {
  if (clickMode) return clickMode(e.latlng);
  placeIncident(e.latlng.lat, e.latlng.lng);
});
async function placeIncident(lat, lng) {
  lastIncidentAt = [lat, lng];
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
    // What the routes are now, so a test (or a curious user) can see them change.
    document.body.dataset.routeSignature = r.resources.map(x => `${x.kind}:${x.id}:${x.eta_seconds}:${x.road_metres}`).join("|");
    document.body.dataset.routedAt = String(Date.now());
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
document.getElementById("clear").addEventListener("click", () => { lastIncidentAt = null; analysis.clearLayers(); document.getElementById("results").innerHTML = ""; });

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
loadSession().then(loadOverlays).then(() => {
  setBase();
  loadIncidents();
  listen();
  if (shared) { const [lon, lat] = shared.split(",").map(Number); if (isFinite(lon) && isFinite(lat)) { map.setView([lat, lon], 12); placeIncident(lat, lon); } }
}).catch(err => { document.getElementById("results").innerHTML = `<p class="bad">${esc(err.message)}</p>`; });

// ---- Incidents: reported, listed, analysed, updated, briefed -------------------------------
const INCIDENT_TYPES = Object.assign({}, HAZARDS, { fire: "火灾", traffic: "交通事故", other: "其他" });
const STATUSNAME = { reported: "已报告", responding: "处置中", closed: "已结束" };
const incidentsLayer = L.layerGroup().addTo(map);
let selectedIncident = null;
function levelName(l) { return ({ 1: "Ⅰ级", 2: "Ⅱ级", 3: "Ⅲ级", 4: "Ⅳ级" })[l] || ""; }
async function loadIncidents() {
  const fc = await api("/api/incidents?status=reported,responding,closed&limit=200");
  incidentsLayer.clearLayers();
  const list = document.getElementById("incidents");
  list.innerHTML = fc.features.length ? "" : "<p class='hint'>暂无事件</p>";
  for (const f of fc.features) {
    const p = f.properties, [lon, lat] = f.geometry.coordinates;
    if (p.status !== "closed") {
      L.marker([lat, lon], { icon: L.divIcon({ className: "incident-marker", html: "◆", iconSize: [22, 22] }), title: p.title })
        .on("click", () => selectIncident(f.id)).addTo(incidentsLayer);
    }
    const d = document.createElement("div");
    d.className = "incident" + (f.id === selectedIncident ? " selected" : "");
    d.dataset.id = f.id;
    d.style.borderColor = LEVEL[p.level] || "#888";
    d.innerHTML = `<b>${esc(p.title)}</b><br><small>${esc(INCIDENT_TYPES[p.type] || p.type)} · ${levelName(p.level)} · ${esc(STATUSNAME[p.status] || p.status)} · ${esc((p.reported_at || "").replace("T", " ").slice(0, 16))}</small>`;
    d.addEventListener("click", () => selectIncident(f.id));
    list.appendChild(d);
  }
  document.body.dataset.incidents = String(fc.features.length);
}

async function selectIncident(id) {
  selectedIncident = id;
  lastIncidentAt = null;
  document.querySelectorAll(".incident").forEach(d => d.classList.toggle("selected", d.dataset.id === id));
  const out = document.getElementById("results");
  out.innerHTML = "<h2>事件</h2><p>分析中…</p>";
  try {
    const [f, a] = await Promise.all([api(`/api/incidents/${encodeURIComponent(id)}`), api(`/api/incidents/${encodeURIComponent(id)}/analysis`)]);
    if (selectedIncident !== id) return;
    const p = f.properties, [lon, lat] = f.geometry.coordinates;
    analysis.clearLayers();
    L.circle([lat, lon], { radius: a.radius_metres, color: "#e31a1c", weight: 1, dashArray: "4 3", fillOpacity: 0.04 }).addTo(analysis);
    let h = `<div class="analysis"><h2>${esc(p.title)}</h2><p>${esc(INCIDENT_TYPES[p.type] || p.type)} · ${levelName(p.level)} · <b>${esc(STATUSNAME[p.status])}</b> · 伤亡 ${p.casualties ?? "未报"}<br>
      <small>${esc(p.reported_at)} · ${esc(p.reported_by || "")}</small></p>`;
    if (p.description) h += `<p>${esc(p.description)}</p>`;
    h += `<p><a href="/api/incidents/${encodeURIComponent(id)}/brief.pdf" target="_blank">打印事件简报 (PDF)</a></p>`;
    if (document.body.classList.contains("editor")) {
      h += `<div class="form" id="incident-update"><select name="status">${Object.entries(STATUSNAME).map(([k, v]) => `<option value="${k}"${k === p.status ? " selected" : ""}>${v}</option>`).join("")}</select>
        <input name="casualties" type="number" min="0" placeholder="伤亡" style="width:5em" value="${p.casualties ?? ""}">
        <input name="note" placeholder="进展说明"><button>更新</button><p class="msg"></p></div>`;
    }
    const at = a.at_risk;
    h += `<h2>受威胁</h2><p>${a.hazard_zones.map(z => `${esc(HAZARDS[z.type] || z.type)}${levelName(z.level)}风险区`).join("、") || "不在风险区内"}；
      ${a.radius_metres / 1000} km 内及风险区内 ${at.villages} 个村，${at.households} 户，${at.people} 人</p>`;
    h += "<table><tr><th>村</th><th>距离</th><th>户</th><th>人</th></tr>" + a.villages.map(v => `<tr><td>${esc(v.name)}</td><td>${(v.metres / 1000).toFixed(1)} km</td><td>${v.households ?? ""}</td><td>${v.population ?? ""}</td></tr>`).join("") + "</table>";
    h += "<h2>联系人</h2><table>" + a.contacts.map(c => `<tr><td>${esc(c.name ?? "（登录可见）")}</td><td>${esc(c.phone ?? "")}</td></tr>`).join("") + "</table>";
    h += "<h2>避难场所</h2><table>" + a.shelters.map(x => `<tr><td>${esc(x.name)}</td><td>${x.capacity ?? ""}人</td><td>${x.occupancy ?? "—"}</td><td>${esc({ open: "开放", full: "已满", closed: "关闭" }[x.status] || "未报")}</td></tr>`).join("") + "</table>";
    h += "<h2>最近救援力量</h2>";
    for (const [kind, hits] of Object.entries(a.nearest)) {
      for (const x of hits) {
        h += `<div class="hit" style="border-color:${KINDCOLOUR[x.kind]}"><div>${KINDNAME[x.kind]}</div><b>${esc(x.name)}</b> <span class="eta">${minutes(x.eta_seconds)}</span>`;
        if (x.stock && x.stock.length) h += `<br><small>${x.stock.map(s => `${esc(s.item)} ${s.quantity}${esc(s.unit)}`).join("、")}</small>`;
        h += "</div>";
        if (x.route) L.geoJSON(x.route, { style: { color: KINDCOLOUR[x.kind], weight: 5, opacity: 0.85 } }).addTo(analysis);
      }
    }
    if (a.road_risks_on_routes.length) h += "<h2>路线上的道路风险</h2><ul>" + a.road_risks_on_routes.map(r => `<li>${esc(r.name || r.id)}：${esc(r.status)}</li>`).join("") + "</ul>";
    h += "<h2>进展</h2><ul class='timeline'>" + f.timeline.map(u => `<li>${esc(u.at.replace("T", " ").slice(0, 16))} ${esc(u.actor.replace(/^user:/, ""))}：${esc(u.kind === "reported" ? "报告" : Object.entries(u.changes || {}).map(([k, [a, b]]) => `${k} ${a ?? "—"}→${b}`).join("，"))}${u.note ? " " + esc(u.note) : ""}</li>`).join("") + "</ul></div>";
    out.innerHTML = h;
    const upd = document.getElementById("incident-update");
    if (upd) upd.querySelector("button").addEventListener("click", async () => {
      const msg = upd.querySelector(".msg");
      const body = { status: upd.querySelector("[name=status]").value };
      const c = upd.querySelector("[name=casualties]").value;
      if (c !== "") body.casualties = Number(c);
      const note = upd.querySelector("[name=note]").value.trim();
      if (note) body.note = note;
      try { await write("POST", `/api/incidents/${encodeURIComponent(id)}/updates`, body, f.version); selectIncident(id); loadIncidents(); }
      catch (err) { msg.className = "msg bad"; msg.textContent = err.message; }
    });
    document.body.dataset.incidentShown = id;
  } catch (err) { out.innerHTML = `<p class="bad">${esc(err.message)}</p>`; }
}

// Clicks that place something: a new incident, a hazard point, the two ends of a road risk.
function pick(hint, handler) {
  map.closePopup();
  document.getElementById("edit-hint").textContent = hint;
  // While picking, features do not take the click (their popups would open instead).
  map.getContainer().classList.add("picking");
  clickMode = ll => { clickMode = null; map.getContainer().classList.remove("picking"); document.getElementById("edit-hint").textContent = ""; handler(ll); };
}
function formPopup(ll, html, onSubmit) {
  const pop = L.popup({ minWidth: 260 }).setLatLng(ll).setContent(`<div class="form">${html}<button data-act="save">保存</button><p class="msg"></p></div>`).openOn(map);
  const el = pop.getElement();
  el.querySelector("button[data-act=save]").addEventListener("click", async () => {
    const msg = el.querySelector(".msg");
    const v = n => { const x = el.querySelector(`[name=${n}]`); return x ? x.value.trim() : ""; };
    try { await onSubmit(v); map.closePopup(pop); } catch (err) { msg.className = "msg bad"; msg.textContent = err.message; }
  });
  return pop;
}
const options = o => Object.entries(o).map(([k, v]) => `<option value="${k}">${esc(v)}</option>`).join("");
const levels = `<select name="level"><option value="1">Ⅰ级</option><option value="2">Ⅱ级</option><option value="3" selected>Ⅲ级</option><option value="4">Ⅳ级</option></select>`;
document.getElementById("report").addEventListener("click", () => pick("点击事发地点", ll => formPopup(ll,
  `<b>上报事件</b><label>类型 <select name="type">${options(INCIDENT_TYPES)}</select></label><label>等级 ${levels}</label>
   <label>标题 <input name="title" required></label><label>情况 <textarea name="description" rows="2"></textarea></label>`,
  async v => {
    const props = { type: v("type"), level: Number(v("level")), title: v("title") };
    if (v("description")) props.description = v("description");
    const f = await write("POST", "/api/incidents", { type: "Feature", geometry: { type: "Point", coordinates: [+ll.lng.toFixed(6), +ll.lat.toFixed(6)] }, properties: props });
    await loadIncidents();
    selectIncident(f.id);
  })));
document.getElementById("new-hazard-point").addEventListener("click", () => pick("点击隐患点位置", ll => formPopup(ll,
  `<b>新增隐患点</b><label>灾种 <select name="type">${options(HAZARDS)}</select></label><label>等级 ${levels}</label><label>名称 <input name="name"></label>`,
  async v => {
    const f = await write("POST", "/api/features/hazard_points", { type: "Feature", geometry: { type: "Point", coordinates: [+ll.lng.toFixed(6), +ll.lat.toFixed(6)] },
      properties: { type: v("type"), level: Number(v("level")), name: v("name") || "新隐患点", source: "web" } });
    document.getElementById("edit-hint").textContent = `已新增 ${f.id}`;
    reloadLayer("hazard_points");
  })));
const RISKS = { snow_drift: "风吹雪", icing: "结冰", landslide: "滑坡", rockfall: "落石", flood: "水毁", debris_flow: "泥石流", construction: "施工", other: "其他" };
document.getElementById("new-road-risk").addEventListener("click", () => pick("点击风险路段起点", a => pick("点击风险路段终点", async b => {
  let r;
  try { r = await api(`/api/route?from=${a.lng.toFixed(6)},${a.lat.toFixed(6)}&to=${b.lng.toFixed(6)},${b.lat.toFixed(6)}`); }
  catch (err) { document.getElementById("edit-hint").textContent = err.message; return; }
  if (!r.reachable) { document.getElementById("edit-hint").textContent = r.note || "两点之间没有道路"; return; }
  const preview = L.geoJSON(r.route, { style: { color: "#c00000", weight: 7, dashArray: "6 4" } }).addTo(analysis);
  const pop = formPopup(b, `<b>新增风险路段（沿道路 ${(r.metres / 1000).toFixed(1)} km）</b><label>风险 <select name="risk_type">${options(RISKS)}</select></label>
    <label>等级 ${levels}</label><label>状态 <select name="status"><option value="closed">封闭</option><option value="restricted">限行</option><option value="open">通行</option></select></label>
    <label>名称 <input name="name"></label>`, async v => {
      await write("POST", "/api/features/road_risks", { type: "Feature", geometry: r.route,
        properties: { risk_type: v("risk_type"), level: Number(v("level")), status: v("status"), name: v("name") || null, updated_at: new Date().toISOString().replace(/\.\d+Z$/, "Z"), source: "web" } });
      analysis.removeLayer(preview);
      reloadLayer("road_risks");
    });
  pop.on("remove", () => analysis.removeLayer(preview));
})));

// ---- Live: every screen hears every change (GET /api/events, Server-Sent Events) ----------
let tileVersion = null;
function refreshTiles(bbox, version) {
  if (!base || !version) return;
  tileVersion = version;
  const template = base._url.split("?")[0];
  base.setUrl(`${template}?v=${version}`, true);
  // Only the tiles the change touches (with room for labels that move) are fetched again.
  const area = bbox ? L.latLngBounds([bbox[1], bbox[0]], [bbox[3], bbox[2]]).pad(0.5) : null;
  for (const t of Object.values(base._tiles)) {
    const tb = base._tileCoordsToBounds(t.coords);
    if (!area || area.intersects(tb)) t.el.src = base.getTileUrl(t.coords);
  }
}
function onChange(ev) {
  if (openForm && openForm.layer === ev.layer && openForm.id === ev.id) {
    const f = openForm.popup.getElement() && openForm.popup.getElement().querySelector(".form");
    const msg = f && f.querySelector(".msg");
    if (msg && f.dataset.version !== String(ev.version)) { msg.className = "msg bad"; msg.textContent = `已被他人修改（现为版本 ${ev.version}）：关闭后重新打开可看到最新状态`; }
  }
  document.body.dataset.lastEventSeq = String(ev.seq);
  document.body.dataset.lastEventAt = String(Date.now());
  refreshTiles(ev.bbox, ev.tile_version);
  const work = [];
  if (overlays[ev.layer]) work.push(reloadLayer(ev.layer));
  if (ev.layer === "incidents") work.push(loadIncidents());
  // A road opened or closed can change every route on screen.
  if (ev.layer === "road_risks" || ev.layer === "roads") {
    if (lastIncidentAt) work.push(placeIncident(lastIncidentAt[0], lastIncidentAt[1]));
  }
  if (selectedIncident && (ev.layer === "incidents" ? ev.id === selectedIncident : ["road_risks", "roads", "shelters", "warehouses"].includes(ev.layer))) {
    const upd = document.getElementById("incident-update");
    const typing = upd && ([...upd.querySelectorAll("input")].some(i => i.value !== i.defaultValue) || upd.contains(document.activeElement));
    if (typing) {
      // Not rebuilt under the editor's hands: a link refreshes when they are done.
      let n = document.getElementById("incident-stale");
      if (!n) { n = document.createElement("p"); n.id = "incident-stale"; n.className = "hint"; upd.after(n); }
      n.innerHTML = `有新的变化 · <a href="#">刷新</a>`;
      n.querySelector("a").addEventListener("click", ev2 => { ev2.preventDefault(); selectIncident(selectedIncident); });
    } else work.push(selectIncident(selectedIncident));
  }
  Promise.allSettled(work).then(() => {
    // Events' work can finish out of order: the mark only moves forward.
    if (ev.seq <= Number(document.body.dataset.appliedSeq || 0)) return;
    document.body.dataset.appliedSeq = String(ev.seq); document.body.dataset.appliedAt = String(Date.now());
  });
}
function listen() {
  const live = document.getElementById("live");
  // ?live=0: no event stream (a printout, or a headless browser whose virtual clock waits for
  // every open request to end).
  if (new URLSearchParams(location.search).get("live") === "0") { live.title = "实时更新：已关闭"; return; }
  const es = new EventSource("/api/events");
  es.onopen = () => { live.classList.add("on"); live.title = "实时更新：已连接"; };
  es.onerror = () => { live.classList.remove("on"); live.title = "实时更新：重新连接中…"; };
  for (const kind of ["incident", "road_risk", "shelter", "stock", "feature"]) es.addEventListener(kind, e => onChange(JSON.parse(e.data)));
  es.addEventListener("hello", e => { tileVersion = JSON.parse(e.data).tile_version; document.body.dataset.live = "yes"; });
  es.addEventListener("reset", e => { refreshTiles(null, JSON.parse(e.data).tile_version); reloadAll(); });
}
