// milliseconds to one decimal, "n/a" when not known yet
const ms = (v) => (typeof v === "number" ? v.toFixed(1) : "n/a");
// The operator page: polls /api/status and /api/gallery, shows MJPEG streams only while visible.
"use strict";
const $ = (id) => document.getElementById(id);
const S = { view: "live", cams: [], paused: false, parts: [], open: -1, setupCam: null };

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
async function getJson(url) {
  const r = await fetch(url, { cache: "no-store", credentials: "same-origin" });
  if (!r.ok) throw new Error(url + ": " + r.status);
  return r.json();
}
function rows(table, pairs, head) {
  table.replaceChildren();
  if (head) { const tr = el("tr"); head.forEach((h) => tr.append(el("th", {}, h))); table.append(tr); }
  for (const cells of pairs) {
    const tr = el("tr");
    cells.forEach((c, i) => {
      const cell = el(i === 0 && !head ? "th" : "td", {}, String(c ?? "n/a"));
      if (typeof c === "string" && /^(ok|degraded|failing)$/.test(c)) cell.className = "state-" + c;
      tr.append(cell);
    });
    table.append(tr);
  }
}
const streamUrl = (kind, cam) => `/stream/${kind}/${encodeURIComponent(cam)}?t=${Date.now()}`;

// -- live ------------------------------------------------------------------------------------
function liveOn() { return S.view === "live" && !S.paused && !document.hidden; }
function ensureTiles(cams) {
  const box = $("cams");
  for (const cam of cams) {
    if (document.getElementById("tile-" + cam)) continue;
    const tile = el("div", { class: "cam", id: "tile-" + cam });
    tile.append(el("h3", {}, cam), el("img", { id: "live-" + cam, alt: "live inspected frame of " + cam }));
    const canvas = el("canvas", { id: "held-" + cam }); canvas.hidden = true;
    const badge = el("span", { class: "paused" }, "PAUSED"); badge.hidden = true;
    tile.append(canvas, badge);
    box.append(tile);
  }
  syncStreams();
}
function syncStreams() {
  for (const cam of S.cams) {
    const img = $("live-" + cam);
    if (!img) continue;
    const want = liveOn();
    if (want && !img.getAttribute("src")) img.src = streamUrl("live", cam);
    if (!want && img.getAttribute("src")) img.removeAttribute("src");
  }
  const setupImg = $("setup-img");
  const wantSetup = S.view === "setup" && S.setupCam && !document.hidden;
  if (wantSetup && setupImg.dataset.cam !== S.setupCam) {
    setupImg.src = streamUrl("setup", S.setupCam); setupImg.dataset.cam = S.setupCam;
  } else if (!wantSetup && setupImg.getAttribute("src")) {
    setupImg.removeAttribute("src"); delete setupImg.dataset.cam;
  }
}
function togglePause() {
  S.paused = !S.paused;
  for (const cam of S.cams) {
    const img = $("live-" + cam), canvas = $("held-" + cam), tile = $("tile-" + cam);
    if (!img) continue;
    if (S.paused && img.naturalWidth) {  // hold the frame on screen while the stream is closed
      canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
      canvas.getContext("2d").drawImage(img, 0, 0);
    }
    canvas.hidden = !S.paused; img.hidden = S.paused;
    tile.querySelector(".paused").hidden = !S.paused;
  }
  $("pause").textContent = S.paused ? "Resume" : "Pause";
  $("pause").setAttribute("aria-pressed", String(S.paused));
  syncStreams();
}

// -- status and counters -----------------------------------------------------------------
function verdictText(v) { return Object.entries(v || {}).map(([k, n]) => `${k} ${n}`).join(" · ") || "none"; }
function failsafeText(f) { return Object.entries(f || {}).map(([k, n]) => `${k}: ${n}`).join(" · ") || "none"; }
function showStatus(st) {
  if (!st.ready) return;
  const h = st.health, pill = $("health");
  pill.textContent = h.state; pill.className = "pill " + h.state; pill.title = h.summary;
  const t = st.since_start, hr = st.last_hour;
  $("summary").textContent = `${t.parts} parts · ${verdictText(t.verdicts)} · ${t.fps} fps · e2e p50 ${ms(t.e2e_ms?.p50)} ms`;
  rows($("counts"), [
    ["", "since start", hr.span_s >= 3590 ? "last hour" : `last hour (so far ${Math.round(hr.span_s ?? 0)} s)`],
    ["parts", t.parts, hr.parts],
    ...["PASS", "REJECT", "ALARM", "NONE"].map((k) => [k, t.verdicts?.[k] ?? 0, hr.verdicts?.[k] ?? 0]),
    ["fail-safe by code", failsafeText(t.failsafes), failsafeText(hr.failsafes)],
    ["fps", t.fps, hr.fps],
    ["e2e p50 / p99 ms", `${ms(t.e2e_ms?.p50)} / ${ms(t.e2e_ms?.p99)}`,
      `${ms(hr.e2e_ms?.p50)} / ${ms(hr.e2e_ms?.p99)} (from the histogram)`],
    ["page: open streams, pictures dropped", `${st.page.streams}, ${st.page.dropped}`, ""],
  ]);
  rows($("components"), h.components.map((c) => [c.name, c.state, c.detail || ""]), ["component", "state", "why"]);
  S.cams = st.camera_ids; ensureTiles(S.cams);
  const sel = $("setup-cam");
  if (sel.options.length !== S.cams.length) {
    sel.replaceChildren(...S.cams.map((c) => el("option", { value: c }, c)));
    if (!S.setupCam) S.setupCam = S.cams[0] || null;
  }
  S.cameraInfo = st.cameras;
}
async function pollStatus() {
  try { showStatus(await getJson("/api/status")); } catch (e) { $("health").textContent = "offline"; $("health").className = "pill failing"; }
  if (S.view === "setup" && S.setupCam) pollSetup();
}
async function pollSetup() {
  try {
    const s = await getJson("/api/setup/" + encodeURIComponent(S.setupCam));
    const f = s.figures || {};
    rows($("setup-figures"), [
      ["camera", s.camera], ["state", s.state], ["exposure", s.exposure], ["gain", s.gain],
      ["image", f.width ? `${f.width}×${f.height}` : "n/a"], ["seq", s.seq],
      ["clipped pixels", f.clipped !== undefined ? `${(100 * f.clipped).toFixed(2)} % (dark ${(100 * f.clipped_dark).toFixed(2)} %, bright ${(100 * f.clipped_bright).toFixed(2)} %)` : "n/a"],
      ["focus (Laplacian var.)", f.focus],
    ]);
    drawHistogram(f.histogram || []);
  } catch (e) { /* next poll */ }
}
function drawHistogram(h) {
  const c = $("histogram"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const max = Math.max(1, ...h), w = c.width / Math.max(1, h.length);
  h.forEach((n, i) => {
    g.fillStyle = i === 0 || i === h.length - 1 ? "#ff6b6b" : "#9ecbff";
    const bar = (n / max) * c.height; g.fillRect(i * w, c.height - bar, Math.max(1, w - 1), bar);
  });
}

// -- gallery and detail -----------------------------------------------------------------
function firstReason(p) {
  const r = (p.reasons || [])[0];
  return r ? `${r.rule} (${r.code})` + (r.instance !== null && r.instance !== undefined ? ` #${r.instance}` : "") : "no reason";
}
function thumb(p, i) {
  const b = el("button", { class: "thumb", "data-seq": String(p.seq), title: firstReason(p) });
  b.append(el("img", { src: `/api/gallery/${p.id}.jpg`, alt: "part " + p.seq, loading: "lazy" }),
    el("div", { class: "v " + p.verdict }, `${p.verdict}${p.failsafe ? " fail-safe" : ""} · seq ${p.seq}`),
    el("div", { class: "r" }, firstReason(p)), el("div", { class: "r" }, `${p.camera} · ${p.time}`));
  b.addEventListener("click", () => openDetail(i));
  return b;
}
async function pollGallery() {
  try {
    const parts = (await getJson("/api/gallery")).parts;
    const key = parts.map((p) => p.id).join(",");
    if (key === S.galleryKey) return;
    S.galleryKey = key; S.parts = parts;
    $("gallery").replaceChildren(...parts.map(thumb));
    $("strip").replaceChildren(...parts.slice(0, 6).map(thumb));
    $("gallery-empty").hidden = parts.length > 0;
  } catch (e) { /* next poll */ }
}
function openDetail(i) {
  if (!S.parts.length) return;
  S.open = (i + S.parts.length) % S.parts.length;
  const p = S.parts[S.open];
  $("detail-img").src = `/api/gallery/${p.id}.jpg`;
  $("detail-title").textContent = `${p.verdict}${p.failsafe ? " (fail-safe)" : ""} · part ${p.part_id ?? "-"} · seq ${p.seq}`;
  rows($("detail-info"), [["camera", p.camera], ["part id", p.part_id ?? "-"], ["seq", p.seq], ["time (UTC)", p.time],
    ["stage timings ms", Object.entries(p.timings_ms || {}).map(([k, v]) => `${k} ${v}`).join(" · ")]]);
  rows($("detail-reasons"), (p.reasons || []).map((r) => [r.rule, r.code, r.instance ?? "-", r.value ?? "-", r.limit ?? "-", r.message || ""]),
    ["rule", "code", "instance", "value", "limit", "message"]);
  $("detail").hidden = false;
}
function closeDetail() { $("detail").hidden = true; S.open = -1; }
function step(d) { openDetail(S.open < 0 ? (d > 0 ? 0 : -1) : S.open + d); }

// -- views and keys -----------------------------------------------------------------------
function show(view) {
  S.view = view;
  document.querySelectorAll(".tab").forEach((b) => b.classList.toggle("on", b.dataset.view === view));
  document.querySelectorAll(".view").forEach((v) => v.classList.toggle("on", v.id === "view-" + view));
  syncStreams(); if (view === "setup") pollSetup();
}
document.querySelectorAll(".tab").forEach((b) => b.addEventListener("click", () => show(b.dataset.view)));
$("pause").addEventListener("click", togglePause);
$("next").addEventListener("click", () => step(1));
$("prev").addEventListener("click", () => step(-1));
$("close").addEventListener("click", closeDetail);
$("setup-cam").addEventListener("change", (e) => { S.setupCam = e.target.value; syncStreams(); pollSetup(); });
document.addEventListener("visibilitychange", syncStreams);
document.addEventListener("keydown", (e) => {
  if (e.altKey || e.ctrlKey || e.metaKey || e.target.tagName === "SELECT") return;
  const k = e.key.toLowerCase();
  if (k === " " || k === "p") { if (e.target.tagName === "BUTTON" && k === " ") return; togglePause(); e.preventDefault(); }
  else if (k === "n" || k === "arrowright") step(1);
  else if (k === "b" || k === "arrowleft") step(-1);
  else if (k === "escape") closeDetail();
  else if ("1234".includes(k) && k.length === 1) show(["live", "rejects", "setup", "counters"][Number(k) - 1]);
});
pollStatus(); pollGallery();
setInterval(pollStatus, 1000); setInterval(pollGallery, 2000);
