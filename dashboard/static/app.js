// Reelwright producer dashboard: plain JS over the JSON API (no build step).
// Data is only ever put into the page with textContent, never as HTML.
"use strict";

const TOKEN_KEY = "reelwright.token";
const $ = (sel) => document.querySelector(sel);

const state = {
  me: null,
  tags: [],
  seriesId: null,
  episodeId: null,
  renderId: null,
  detail: null,       // GET /api/renders/{id}
  shot: null,         // the selected shot of detail.shots
  regions: [],        // drawn on the paused frame: {t, x, y, w, h}
  range: { start: null, end: null },
  feedbackKey: null,  // Idempotency-Key of the feedback form being filled
  polls: new Map(),   // render id -> {timer, callbacks}
};

// ------------------------------------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, body) {
    super(ApiError.describe(status, body));
    this.status = status;
    this.body = body;
  }
  static describe(status, body) {
    const d = body && body.detail;
    if (Array.isArray(d)) return d.map((e) => `${e.field || (e.loc || []).join(".")}: ${e.msg}`).join("; ");
    return (typeof d === "string" ? d : `HTTP ${status}`) + (body && body.hint ? ` (${body.hint})` : "");
  }
}

async function api(path, { method = "GET", body, key } = {}) {
  const headers = { Authorization: `Bearer ${localStorage.getItem(TOKEN_KEY) || ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers["Idempotency-Key"] = key;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = (res.headers.get("content-type") || "").includes("json") ? await res.json() : null;
  if (res.status === 401) {
    signOut("Your token was not accepted; sign in again.");
    throw new ApiError(res.status, data);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function toast(message) {
  const el = $("#toast");
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 6000);
}

async function guarded(fn) {
  try { return await fn(); } catch (err) { toast(err.message); return undefined; }
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "className") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
const fmtSec = (s) => (s == null ? "—" : `${Number(s).toFixed(2)} s`);

// ------------------------------------------------------------------------------------- sign in

function signOut(message = "") {
  localStorage.removeItem(TOKEN_KEY);
  state.me = null;
  for (const watch of state.polls.values()) clearInterval(watch.timer);
  state.polls.clear();
  $("#app").hidden = true;
  $("#tabs").hidden = true;
  $("#who").hidden = true;
  $("#signin-panel").hidden = false;
  $("#signin-error").textContent = message;
}

async function signIn(token) {
  localStorage.setItem(TOKEN_KEY, token);
  try {
    state.me = await api("/api/me");
  } catch (err) {
    signOut(err.status === 401 ? "That token is unknown or revoked." : err.message);
    return;
  }
  $("#signin-panel").hidden = true;
  $("#app").hidden = false;
  $("#tabs").hidden = false;
  $("#who").hidden = false;
  $("#who-name").textContent = `${state.me.name} (${state.me.role})`;
  const canRate = state.me.permissions.includes("rate");
  const canRender = state.me.permissions.includes("render");
  $("#feedback-form").querySelectorAll("button, input, textarea").forEach((b) => { b.disabled = !canRate; });
  $("#request-retake").disabled = !(canRate && canRender);
  state.tags = await api("/api/tags");
  renderTagBoxes();
  await loadSeries();
}

// ------------------------------------------------------------------------------------- browse

function selectIn(list, item) {
  list.querySelectorAll("li").forEach((li) => li.classList.toggle("selected", li === item));
}

async function loadSeries() {
  const page = await api("/api/series?limit=200");
  const list = $("#series-list");
  list.replaceChildren(...page.items.map((s) => {
    const li = el("li", { className: "series-item", dataset: { id: s.id } }, s.title);
    li.addEventListener("click", () => { selectIn(list, li); guarded(() => loadEpisodes(s.id)); });
    return li;
  }));
  if (!page.items.length) list.replaceChildren(el("li", { className: "muted" }, "No series yet: render a script from the CLI."));
}

async function loadEpisodes(seriesId) {
  state.seriesId = seriesId;
  const page = await api(`/api/series/${seriesId}/episodes?limit=200`);
  const list = $("#episode-list");
  list.replaceChildren(...page.items.map((e) => {
    const li = el("li", { className: "episode-item", dataset: { id: e.id } }, `${e.number}. ${e.title}`);
    li.addEventListener("click", () => { selectIn(list, li); guarded(() => loadRenders(e.id)); });
    return li;
  }));
}

async function loadRenders(episodeId) {
  state.episodeId = episodeId;
  $("#render-episode").disabled = !(state.me.permissions.includes("render"));
  const page = await api(`/api/episodes/${episodeId}/renders?limit=100`);
  const list = $("#render-list");
  list.replaceChildren(...page.items.map((r) => {
    const li = el("li", { className: "render-item", dataset: { id: r.id, status: r.status } },
      `#${r.id} `, el("span", { className: `badge ${r.status}` }, r.status),
      el("span", { className: "muted" }, ` ${r.retakes && Object.keys(r.retakes).length ? "retakes " + JSON.stringify(r.retakes) : ""}`));
    if (r.id === state.renderId) li.classList.add("selected");
    li.addEventListener("click", () => { selectIn(list, li); guarded(() => openRender(r.id)); });
    if (r.status === "queued" || r.status === "running") watchRender(r.id);
    return li;
  }));
}

function watchRender(renderId, onDone) {
  // One poll per render; every caller's onDone runs when it finishes.
  let watch = state.polls.get(renderId);
  if (!watch) {
    watch = { callbacks: [], timer: null };
    watch.timer = setInterval(async () => {
      let detail;
      try { detail = await api(`/api/renders/${renderId}`); } catch { return; }
      const s = detail.render.status;
      if (s !== "succeeded" && s !== "failed") return;
      clearInterval(watch.timer);
      state.polls.delete(renderId);
      if (state.episodeId === detail.episode.id) await guarded(() => loadRenders(state.episodeId));
      if (state.renderId === renderId) await guarded(() => openRender(renderId));
      for (const callback of watch.callbacks) await guarded(() => callback(detail));
    }, 1000);
    state.polls.set(renderId, watch);
  }
  if (onDone) watch.callbacks.push(onDone);
}

async function triggerRender() {
  const render = await api(`/api/episodes/${state.episodeId}/renders`, { method: "POST", body: {}, key: crypto.randomUUID() });
  await loadRenders(state.episodeId);
  watchRender(render.id);
  toast(`Render #${render.id} queued`);
}

// ------------------------------------------------------------------------------------- player

async function openRender(renderId) {
  const detail = await api(`/api/renders/${renderId}`);
  state.renderId = renderId;
  state.detail = detail;
  $("#viewer").hidden = false;
  $("#render-title").textContent =
    `${detail.series.title} · episode ${detail.episode.number} “${detail.episode.title}” · render #${detail.render.id}`;
  const r = detail.render;
  $("#render-status").textContent =
    `${r.status} · ${r.backend} · started ${fmtTime(r.started_at)} · finished ${fmtTime(r.finished_at)}` +
    (r.error ? ` · error: ${r.error}` : "");
  const video = $("#video");
  $("#back-to-episode").hidden = true;
  if (detail.video_url) {
    if (video.dataset.src !== detail.video_url.split("?")[0]) {
      video.src = detail.video_url;
      video.dataset.src = detail.video_url.split("?")[0];
    }
  } else {
    video.removeAttribute("src");
    video.dataset.src = "";
  }
  drawTimeline();
  const keep = state.shot && detail.shots.find((s) => s.shot_id === state.shot.shot_id);
  selectShot(keep || detail.shots[0] || null, { seek: false });
  await loadFeedback();
  if (r.status === "queued" || r.status === "running") watchRender(renderId);
}

function totalDuration() {
  const shots = state.detail ? state.detail.shots : [];
  const planned = shots.reduce((end, s) => Math.max(end, s.start + s.duration), 0);
  const video = $("#video");
  return Number.isFinite(video.duration) && video.duration > 0 ? Math.max(video.duration, planned) : planned;
}

function drawTimeline() {
  const bar = $("#timeline");
  const total = totalDuration() || 1;
  const markers = state.detail.shots.map((s) => {
    const m = el("div", {
      className: "shot-marker",
      title: `${s.shot_id} · take ${s.take ? s.take.take : "—"} · ${fmtSec(s.start)}`,
      dataset: { shot: s.shot_id, start: s.start },
    }, s.shot_id);
    m.style.left = `${(100 * s.start) / total}%`;
    m.style.width = `${(100 * s.duration) / total}%`;
    m.addEventListener("click", () => selectShot(s, { seek: true }));
    return m;
  });
  bar.replaceChildren(...markers, el("div", { id: "playhead" }));
  updatePlayhead();
}

function shotAt(t) {
  const shots = state.detail ? state.detail.shots : [];
  return shots.find((s) => t >= s.start && t < s.start + s.duration) || null;
}

function updatePlayhead() {
  const video = $("#video");
  const head = $("#playhead");
  if (!head || !state.detail) return;
  const total = totalDuration() || 1;
  head.style.left = `${(100 * (video.currentTime || 0)) / total}%`;
  const current = shotAt(video.currentTime || 0);
  document.querySelectorAll(".shot-marker").forEach((m) => {
    m.classList.toggle("current", current !== null && m.dataset.shot === current.shot_id);
  });
}

function selectShot(shot, { seek }) {
  state.shot = shot;
  resetForm();
  $("#shot-panel").hidden = !shot;
  document.querySelectorAll(".shot-marker").forEach((m) => {
    m.classList.toggle("selected", shot !== null && m.dataset.shot === shot.shot_id);
  });
  if (!shot) return;
  $("#shot-name").textContent = shot.shot_id;
  $("#shot-take").textContent = shot.take ? `take ${shot.take.take} · seed ${shot.take.seed}${shot.take.cached ? " · cached" : ""}` : "no take";
  $("#shot-action").textContent = (shot.plan && (shot.plan.action || shot.plan.shot_type)) || "";
  const takes = $("#takes");
  takes.replaceChildren(...shot.takes.map((t) => el("button", {
    type: "button",
    className: `take-button${shot.take && t.id === shot.take.id ? " current" : ""}`,
    dataset: { take: t.take, id: t.id },
    title: `seed ${t.seed} · ${fmtSec(t.duration)}`,
    onclick: () => playTake(t),
  }, `▶ take ${t.take}`)));
  if (seek) {
    const video = $("#video");
    video.pause();
    video.currentTime = shot.start + 0.01;
  }
}

function playTake(take) {
  // Plays the shot clip itself in the player; "Back to the episode" returns to the render.
  const video = $("#video");
  video.src = take.video_url;
  video.dataset.src = take.video_url.split("?")[0];
  video.play().catch(() => {});
  $("#back-to-episode").hidden = false;
}

function backToEpisode() {
  const video = $("#video");
  $("#back-to-episode").hidden = true;
  if (!state.detail || !state.detail.video_url) return;
  video.src = state.detail.video_url;
  video.dataset.src = state.detail.video_url.split("?")[0];
  if (state.shot) video.currentTime = state.shot.start + 0.01;
}

// --------------------------------------------------------------------------------- region drawing

const overlay = { drawing: false, dragStart: null, current: null };

function canvasPoint(ev) {
  const c = $("#overlay");
  const box = c.getBoundingClientRect();
  const clamp = (v) => Math.min(1, Math.max(0, v));
  return { x: clamp((ev.clientX - box.left) / box.width), y: clamp((ev.clientY - box.top) / box.height) };
}

function paintOverlay() {
  const c = $("#overlay");
  const box = c.getBoundingClientRect();
  c.width = Math.round(box.width);
  c.height = Math.round(box.height);
  const g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const t = $("#video").currentTime || 0;
  const rects = state.regions.filter((r) => Math.abs(r.t - t) < 0.05);
  if (overlay.current) rects.push(overlay.current);
  g.lineWidth = 2;
  for (const r of rects) {
    g.strokeStyle = r === overlay.current ? "#ffffff" : "#f2a93b";
    g.fillStyle = "rgba(242, 169, 59, 0.18)";
    g.fillRect(r.x * c.width, r.y * c.height, r.w * c.width, r.h * c.height);
    g.strokeRect(r.x * c.width, r.y * c.height, r.w * c.width, r.h * c.height);
  }
}

function setDrawing(on) {
  overlay.drawing = on;
  $("#overlay").classList.toggle("drawing", on);
  $("#draw-region").classList.toggle("on", on);
  if (on) {
    $("#video").pause();
    $("#player").scrollIntoView({ block: "nearest" });
  }
}

function startDrag(ev) {
  if (!overlay.drawing) return;
  ev.preventDefault();
  overlay.dragStart = canvasPoint(ev);
  overlay.current = { ...overlay.dragStart, w: 0, h: 0, t: $("#video").currentTime || 0 };
}

function moveDrag(ev) {
  if (!overlay.dragStart) return;
  const p = canvasPoint(ev);
  const a = overlay.dragStart;
  overlay.current = { t: overlay.current.t, x: Math.min(a.x, p.x), y: Math.min(a.y, p.y), w: Math.abs(p.x - a.x), h: Math.abs(p.y - a.y) };
  paintOverlay();
}

function endDrag(ev) {
  if (!overlay.dragStart) return;
  moveDrag(ev);
  const r = overlay.current;
  overlay.dragStart = null;
  overlay.current = null;
  if (r.w > 0.01 && r.h > 0.01) {
    const round = (v) => Math.round(v * 10000) / 10000;
    state.regions.push({ t: round(r.t), x: round(r.x), y: round(r.y), w: round(Math.min(r.w, 1 - r.x)), h: round(Math.min(r.h, 1 - r.y)) });
  }
  setDrawing(false);
  $("#region-count").textContent = `${state.regions.length} region${state.regions.length === 1 ? "" : "s"}`;
  paintOverlay();
}

// ------------------------------------------------------------------------------------- feedback

function renderTagBoxes() {
  $("#tags").replaceChildren(...state.tags.map((t) => el("label", { className: t.positive ? "positive" : "", title: t.description },
    el("input", { type: "checkbox", className: "tag", value: t.name }), ` ${t.name}`)));
}

function resetForm() {
  $("#feedback-form").reset();
  state.regions = [];
  state.range = { start: null, end: null };
  state.feedbackKey = crypto.randomUUID();
  $("#region-count").textContent = "0 regions";
  $("#time-range").textContent = "no time range";
  $("#shot-message").textContent = "";
  paintOverlay();
}

function showRange() {
  const { start, end } = state.range;
  $("#time-range").textContent = start == null && end == null ? "no time range" : `${fmtSec(start)} – ${fmtSec(end)}`;
}

async function submitFeedback(ev) {
  ev.preventDefault();
  const shot = state.shot;
  if (!shot) return;
  const rating = document.querySelector('input[name="rating"]:checked');
  const body = {
    rating: rating ? Number(rating.value) : null,
    tags: [...document.querySelectorAll("#tags input:checked")].map((i) => i.value),
    comment: $("#comment").value.trim() || null,
    t_start: state.range.start,
    t_end: state.range.end,
    regions: state.regions,
  };
  const about = $("#target").value;
  if (about === "take" && shot.take) body.take_id = shot.take.id;
  else if (about === "episode") body.render_id = state.renderId;
  else Object.assign(body, { render_id: state.renderId, shot_id: shot.shot_id });
  const saved = await api("/api/feedback", { method: "POST", body, key: state.feedbackKey });
  resetForm();
  $("#shot-message").textContent = `Saved feedback #${saved.id} on ${saved.target} ${saved.shot_id || ""}`;
  await loadFeedback();
}

async function approveTake() {
  if (!state.shot || !state.shot.take) return;
  const d = await api("/api/decisions", { method: "POST", body: { kind: "approve", take_id: state.shot.take.id }, key: crypto.randomUUID() });
  $("#shot-message").textContent = `Approved take ${d.take_number} of ${d.shot_id}`;
}

async function requestRetake() {
  const shot = state.shot;
  if (!shot) return;
  const note = $("#comment").value.trim() || null;
  const d = await api("/api/decisions", {
    method: "POST",
    body: { kind: "retake", render_id: state.renderId, shot_id: shot.shot_id, note },
    key: crypto.randomUUID(),
  });
  $("#shot-message").textContent = `Retake ${d.take_number} of ${d.shot_id} queued as render #${d.retake_render_id}…`;
  await loadRenders(state.episodeId);
  watchRender(d.retake_render_id, async (detail) => {
    if (detail.render.status !== "succeeded") {
      $("#shot-message").textContent = `Render #${detail.render.id} failed: ${detail.render.error || "no error text"}`;
      return;
    }
    state.shot = detail.shots.find((s) => s.shot_id === d.shot_id) || null;
    await openRender(detail.render.id);
    selectShot(detail.shots.find((s) => s.shot_id === d.shot_id) || null, { seek: true });
    $("#shot-message").textContent = `Render #${detail.render.id} done: ${d.shot_id} is now take ${d.take_number}`;
  });
}

async function loadFeedback() {
  if (!state.renderId) return;
  const page = await api(`/api/feedback?render_id=${state.renderId}&limit=100`);
  $("#feedback-list").replaceChildren(...page.items.map((f) => el("li", { className: "feedback-item", dataset: { id: f.id } },
    `#${f.id} ${f.target}${f.shot_id ? " " + f.shot_id : ""} · ${f.rating ? "★".repeat(f.rating) : "no rating"}` +
    `${f.tags.length ? " · " + f.tags.join(", ") : ""}${f.comment ? " · “" + f.comment + "”" : ""}` +
    `${f.regions.length ? ` · ${f.regions.length} region(s)` : ""}`)));
}

// ------------------------------------------------------------------------------------ runs, models

async function loadRuns() {
  const page = await api("/api/renders?limit=100");
  $("#runs-table tbody").replaceChildren(...page.items.map((r) => el("tr", { dataset: { id: r.id } },
    el("td", {}, r.id), el("td", {}, r.episode_id), el("td", {}, el("span", { className: `badge ${r.status}` }, r.status)),
    el("td", {}, r.backend), el("td", {}, fmtTime(r.started_at)), el("td", {}, fmtTime(r.finished_at)),
    el("td", { className: "error" }, r.error || ""))));
}

async function loadModels() {
  const page = await api("/api/models?limit=100");
  $("#models-table tbody").replaceChildren(...page.items.map((m) => el("tr", { dataset: { id: m.id } },
    el("td", {}, m.id), el("td", {}, m.name), el("td", {}, el("span", { className: `badge ${m.status === "promoted" ? "succeeded" : m.status === "rejected" ? "failed" : ""}` }, m.status)),
    el("td", {}, m.parent_id ?? "—"), el("td", {}, m.dataset_id ?? "—"),
    el("td", {}, el("code", {}, JSON.stringify(m.metrics || {}, null, 1))), el("td", {}, fmtTime(m.created_at)))));
}

let runsTimer = null;

function showTab(name) {
  document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  document.querySelectorAll(".tab").forEach((t) => { t.hidden = t.id !== `tab-${name}`; });
  clearInterval(runsTimer);
  if (name === "runs") { guarded(loadRuns); runsTimer = setInterval(() => guarded(loadRuns), 2000); }
  if (name === "models") guarded(loadModels);
}

// ----------------------------------------------------------------------------------------- wiring

function wire() {
  $("#signin-form").addEventListener("submit", (ev) => { ev.preventDefault(); signIn($("#token").value.trim()); });
  $("#signout").addEventListener("click", () => signOut());
  document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
  $("#render-episode").addEventListener("click", () => guarded(triggerRender));
  const video = $("#video");
  video.addEventListener("timeupdate", () => { updatePlayhead(); paintOverlay(); });
  video.addEventListener("seeked", () => { updatePlayhead(); paintOverlay(); });
  video.addEventListener("loadedmetadata", () => {
    if (video.videoWidth && video.videoHeight) $("#player").style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
    if (state.detail) drawTimeline();
    paintOverlay();
  });
  const c = $("#overlay");
  c.addEventListener("mousedown", startDrag);
  window.addEventListener("mousemove", moveDrag);
  window.addEventListener("mouseup", endDrag);
  window.addEventListener("resize", paintOverlay);
  $("#draw-region").addEventListener("click", () => setDrawing(!overlay.drawing));
  $("#clear-regions").addEventListener("click", () => { state.regions = []; $("#region-count").textContent = "0 regions"; paintOverlay(); });
  $("#mark-in").addEventListener("click", () => { state.range.start = Math.round(video.currentTime * 1000) / 1000; showRange(); });
  $("#mark-out").addEventListener("click", () => { state.range.end = Math.round(video.currentTime * 1000) / 1000; showRange(); });
  $("#feedback-form").addEventListener("submit", (ev) => guarded(() => submitFeedback(ev)));
  $("#approve-take").addEventListener("click", () => guarded(approveTake));
  $("#back-to-episode").addEventListener("click", backToEpisode);
  $("#request-retake").addEventListener("click", () => guarded(requestRetake));
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) signIn(token); else signOut();
}

wire();
