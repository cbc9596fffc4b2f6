// The Train page: a session trains in the server; this page starts it (Reset), plays, pauses or
// steps it, and draws what it reports on <canvas>: decision regions (2-D data), loss curves, and δ
// and ∂C/∂W of the current minibatch as heat maps with their shapes.  The settings live in the
// URL's query string (the share link), and a URL that holds them fills the form on load.
"use strict";

const $ = (id) => document.getElementById(id);
const CLASS_COLORS = [[240, 138, 36], [42, 127, 212], [58, 166, 85], [192, 57, 43], [142, 68, 173]];
let session = null;
let data = null;
let polling = null;

function status(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function call(method, path, body) {
  const options = { method, headers: { "Content-Type": "application/json" } };
  if (body !== undefined) options.body = JSON.stringify(body);
  const response = await fetch(path, options);
  let answer;
  try { answer = await response.json(); } catch { answer = { error: `the server answered ${response.status}` }; }
  if (!response.ok || answer.error) throw new Error(answer.error || `the server answered ${response.status}`);
  return answer;
}

const FIELDS = ["data", "layers", "activation", "loss", "optimizer", "lr", "batch", "l2"];
const LOSS_NAMES = { cross_entropy: "Cross-entropy", mse: "Mean squared error" };

function settings() {
  const chosen = {};
  for (const field of FIELDS) chosen[field] = $(field).value.trim();
  return chosen;
}

function settingsQuery(chosen) {
  const params = new URLSearchParams();
  for (const field of FIELDS) params.set(field, chosen[field]);
  return params;
}

function updateLinks(chosen) {
  const query = settingsQuery(chosen);
  const url = `${location.origin}/train?${query}`;
  $("share").href = url;
  history.replaceState(null, "", url);
  if (session) query.set("session", session);
  $("surface-link").href = `/surface?${query}`;
  $("nav-surface").href = `/surface?${query}`;
}

function fillFromURL() {
  const params = new URLSearchParams(location.search);
  for (const field of FIELDS) {
    if (params.has(field)) $(field).value = params.get(field).slice(0, 100);
  }
  return params.get("session");
}

async function reset() {
  stopPolling();
  try {
    const answer = await call("POST", "/api/train/new", settings());
    show(answer.session, answer);
    status(`a ${answer.settings.layers.length + 1}-layer network on ${answer.settings.data}`, false);
  } catch (error) {
    status(error.message, true);  // the session that was there (if any) goes on as it was
  }
}

// Take over a session that is already there (the Surface page links here with its id); false if it is gone.
async function attach(key) {
  try {
    const answer = await call("GET", `/api/train/state?session=${encodeURIComponent(key)}&data=1`);
    for (const field of FIELDS) $(field).value = String(answer.settings[field]);
    show(key, answer);
    if (answer.state.playing) startPolling();
    status(`the network of the session you came from, at step ${answer.state.step}`, false);
    return true;
  } catch {
    return false;
  }
}

function show(key, answer) {
  session = key;
  data = answer.data;
  const planar = data.features === 2;
  $("regions-figure").hidden = !planar;
  $("digits-figure").hidden = planar;
  $("digits-note").textContent = planar ? "" : `${data.features} features, ${data.classes} classes: no plane to ` +
    `draw decision regions in; ${data.train.count} training and ${data.test.count} test images.`;
  $("loss-name").textContent = LOSS_NAMES[answer.settings.loss];
  updateLinks(settings());
  draw(answer.state);
}

async function control(action) {
  if (!session) return;
  try {
    const answer = await call("POST", "/api/train/control", { session, action });
    draw(answer.state);
    if (action === "play") startPolling(); else stopPolling();
  } catch (error) {
    status(error.message, true);
  }
}

function startPolling() {
  stopPolling();
  polling = setInterval(async () => {
    try {
      const answer = await call("GET", `/api/train/state?session=${encodeURIComponent(session)}`);
      draw(answer.state);
      if (!answer.state.playing) stopPolling();
    } catch (error) {
      status(error.message, true);
      stopPolling();
    }
  }, 200);
}

function stopPolling() {
  if (polling) clearInterval(polling);
  polling = null;
}

function percent(x) { return `${(100 * x).toFixed(1)}%`; }

function draw(state) {
  $("step-count").textContent = state.step;
  $("train-acc").textContent = percent(state.train_accuracy);
  $("test-acc").textContent = percent(state.test_accuracy);
  document.body.dataset.step = state.step;
  document.body.dataset.testAccuracy = state.test_accuracy;
  $("play").textContent = state.playing ? "Pause" : "Play";
  $("play").dataset.playing = state.playing ? "1" : "0";
  if (state.regions) drawRegions(state.regions);
  drawLoss(state.history);
  drawBackward(state.backward);
}

function drawRegions(regions) {
  const canvas = $("regions"), g = canvas.getContext("2d");
  const cell = canvas.width / regions.size;
  for (let i = 0; i < regions.class.length; i++) {
    const [r, gr, b] = CLASS_COLORS[regions.class[i] % CLASS_COLORS.length];
    const alpha = 0.15 + 0.45 * Math.max(0, (regions.confidence[i] - 0.5) * 2);
    g.fillStyle = `rgba(${r},${gr},${b},${alpha})`;
    g.fillRect((i % regions.size) * cell, Math.floor(i / regions.size) * cell, cell + 1, cell + 1);
  }
  const [x0, x1, y0, y1] = data.bounds;
  const px = (x) => ((x - x0) / (x1 - x0)) * canvas.width;
  const py = (y) => ((y1 - y) / (y1 - y0)) * canvas.height;
  for (const [split, filled] of [[data.train, true], [data.test, false]]) {
    split.X.forEach(([x, y], k) => {
      const [r, gr, b] = CLASS_COLORS[split.y[k] % CLASS_COLORS.length];
      g.beginPath();
      g.arc(px(x), py(y), 3.2, 0, 2 * Math.PI);
      // training points filled in their class's colour, test points white inside their class's ring
      g.fillStyle = filled ? `rgb(${r},${gr},${b})` : "#fff";
      g.fill();
      g.lineWidth = filled ? 0.8 : 1.8;
      g.strokeStyle = filled ? "#1d2330" : `rgb(${r},${gr},${b})`;
      g.stroke();
    });
  }
}

function drawLoss(history) {
  const canvas = $("loss-curve"), g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  if (history.length < 2) return;
  const pad = 30, w = canvas.width - pad - 8, h = canvas.height - pad - 8;
  const last = history[history.length - 1][0];
  const top = Math.max(...history.map((p) => Math.max(p[1], p[2])), 1e-9);
  g.strokeStyle = "#b9c0cf"; g.lineWidth = 1;
  g.strokeRect(pad, 8, w, h);
  g.fillStyle = "#4a5368"; g.font = "11px system-ui";
  g.fillText(top.toFixed(2), 2, 16); g.fillText("0", 18, 8 + h); g.fillText(`step ${last}`, pad + w - 60, 8 + h + 16);
  for (const [column, color] of [[1, "#2a62c9"], [2, "#e07b00"]]) {
    g.beginPath();
    history.forEach((p, k) => {
      const x = pad + (p[0] / last) * w, y = 8 + h - (Math.min(p[column], top) / top) * h;
      if (k === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.strokeStyle = color; g.lineWidth = 1.5; g.stroke();
  }
}

function heat(value, scale) {
  const t = Math.max(-1, Math.min(1, value / scale));
  return t >= 0 ? `rgb(255,${Math.round(255 * (1 - t))},${Math.round(255 * (1 - t))})`
    : `rgb(${Math.round(255 * (1 + t))},${Math.round(255 * (1 + t))},255)`;
}

function drawBackward(matrices) {
  const box = $("backward");
  box.replaceChildren();
  for (const m of matrices) {
    const [rows, cols] = m.shape;
    const figure = document.createElement("div");
    figure.className = "heatmap";
    figure.dataset.name = m.name;
    figure.dataset.shape = m.shape.join("x");
    const scale = Math.max(...m.values.flat().map(Math.abs), 1e-12);
    const title = document.createElement("h3");
    title.textContent = `${m.name}  ${rows}×${cols}`;
    const meaning = document.createElement("p");
    meaning.textContent = `${m.meaning}; largest |entry| ${scale.toExponential(1)}`;
    figure.append(title, meaning);
    const size = Math.max(3, Math.min(14, Math.floor(220 / Math.max(rows, cols))));
    const canvas = document.createElement("canvas");
    canvas.width = cols * size; canvas.height = rows * size;
    const g = canvas.getContext("2d");
    m.values.forEach((row, i) => row.forEach((v, j) => {
      g.fillStyle = heat(v, scale);
      g.fillRect(j * size, i * size, size, size);
    }));
    figure.appendChild(canvas);
    box.appendChild(figure);
  }
}

window.addEventListener("DOMContentLoaded", async () => {
  $("settings").addEventListener("submit", (event) => { event.preventDefault(); reset(); });
  $("play").addEventListener("click", () => control($("play").dataset.playing === "1" ? "pause" : "play"));
  $("step").addEventListener("click", () => control("step"));
  const key = fillFromURL();
  if (!key || !(await attach(key))) await reset();
  document.body.dataset.ready = "1";
});
