// The Surface page: the server computes the cost over two weights of a Train session's current
// network (the grid, −∇C at the arrows' feet, the path) and this page draws it on <canvas>: a heat
// map with contour lines, the arrows, the path and the point where the weights are now.
// The URL holds the session and the options; without a session, the server starts a fresh one
// from the Train settings in the URL (the Train page's share link format).
"use strict";

const $ = (id) => document.getElementById(id);
const OPTIONS = ["w1", "w2", "resolution", "arrows", "span", "path", "steps"];
const TRAIN_FIELDS = ["data", "layers", "activation", "loss", "optimizer", "lr", "batch", "l2"];
const TRAIN_STEPS = 25;
const FRAME = { left: 64, right: 86, top: 12, bottom: 46 };
// viridis, five stops: low cost dark blue, high cost yellow
const STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
let session = null;
let trainSettings = {};
let busy = false;
let playing = false;

function status(text, kind) {
  $("status-text").textContent = text;
  $("status").className = kind === "error" ? "error" : "";
  $("spinner").hidden = kind !== "computing";
  document.body.dataset.state = kind;
}

async function call(path, body) {
  const response = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  let answer;
  try { answer = await response.json(); } catch { answer = { error: `the server answered ${response.status}` }; }
  if (!response.ok || answer.error) throw new Error(answer.error || `the server answered ${response.status}`);
  return answer;
}

function request() {
  const body = {
    params: [$("w1").value.trim(), $("w2").value.trim()], resolution: $("resolution").value.trim(),
    arrows: $("arrows").value.trim(), span: $("span").value.trim(), path: $("path").value, steps: $("steps").value.trim(),
  };
  if (session) body.session = session; else body.settings = trainSettings;
  return body;
}

function updateURL() {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(trainSettings)) params.set(key, value);
  if (session) params.set("session", session);
  const trainURL = `/train?${params}`;
  for (const field of OPTIONS) if ($(field).value.trim()) params.set(field, $(field).value.trim());
  history.replaceState(null, "", `${location.pathname}?${params}`);
  $("train-link").href = trainURL;
  $("nav-train").href = trainURL;
}

// Long work shows a spinner and the seconds so far; the server stops it at its time limit.
// True when the work was done, false when it failed (the error is shown) or other work was under way.
async function whileComputing(words, work) {
  if (busy) return false;
  busy = true;
  const started = performance.now();
  const tick = () => status(`${words}… ${((performance.now() - started) / 1000).toFixed(1)} s`, "computing");
  tick();
  const timer = setInterval(tick, 100);
  try {
    await work();
    return true;
  } catch (error) {
    status(error.message, "error");
    return false;
  } finally {
    clearInterval(timer);
    busy = false;
  }
}

async function drawSurface() {
  return whileComputing("computing the surface", async () => {
    let answer;
    try {
      answer = await call("/api/surface", request());
    } catch (error) {
      if (!session || !error.message.includes("no such session")) throw error;
      session = null;  // the server restarted or dropped it: draw a fresh network from the settings
      answer = await call("/api/surface", request());
    }
    session = answer.session;
    trainSettings = Object.fromEntries(TRAIN_FIELDS.map((field) => [field, String(answer.settings[field])]));
    updateURL();
    render(answer.result);
    describe(answer);
    status(`drawn in ${answer.result.seconds.toFixed(2)} s`, "done");
  });
}

async function trainSome() {
  if (!session) return false;
  const trained = await whileComputing(`training ${TRAIN_STEPS} steps`, async () => {
    await call("/api/train/control", { session, action: "step", steps: TRAIN_STEPS });
  });
  return trained && drawSurface();
}

// Play: train and redraw, again and again, until Pause (or an error, which is shown).
async function togglePlay() {
  if (playing) {
    playing = false;  // the loop below ends after the round under way
    showPlaying();
    return;
  }
  playing = true;
  showPlaying();
  while (playing && (await trainSome()));
  playing = false;
  showPlaying();
}

function showPlaying() {
  $("play").textContent = playing ? "Pause" : "Play";
  $("play").dataset.playing = playing ? "1" : "0";
}

function describe(answer) {
  const r = answer.result, s = answer.settings;
  const l2 = r.l2 > 0 ? ` (without the λ term, λ = ${r.l2})` : "";
  $("info").textContent = `${r.loss_name}${l2} over ${r.examples} training examples of ${s.data}, ` +
    `network ${s.layers.join("-")} (${s.activation}, ${s.optimizer}) at step ${r.step}; ` +
    `${r.grid}×${r.grid} grid. Path: ${r.path_label || "none"}.`;
  $("parameters").textContent = "This network's weights: " +
    answer.parameters.map((p) => `${p.name} ${p.shape.join("×")}`).join(", ");
}

function colour(t) {
  const x = Math.max(0, Math.min(1, t)) * (STOPS.length - 1), k = Math.min(Math.floor(x), STOPS.length - 2);
  const f = x - k, [a, b] = [STOPS[k], STOPS[k + 1]];
  return `rgb(${a.map((v, i) => Math.round(v + f * (b[i] - v))).join(",")})`;
}

function render(r) {
  const canvas = $("surface"), g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  const width = canvas.width - FRAME.left - FRAME.right, height = canvas.height - FRAME.top - FRAME.bottom;
  const [x0, x1] = [r.w1[0], r.w1[r.w1.length - 1]], [y0, y1] = [r.w2[0], r.w2[r.w2.length - 1]];
  const px = (w) => FRAME.left + ((w - x0) / (x1 - x0)) * width;
  const py = (w) => FRAME.top + ((y1 - w) / (y1 - y0)) * height;
  const [low, high] = [r.range[0] ?? 0, r.range[1] ?? 1];
  // a square root stretches the low end, where the interesting valleys are
  const level = (v) => (high > low ? Math.sqrt((v - low) / (high - low)) : 0.5);
  g.save();
  g.beginPath(); g.rect(FRAME.left, FRAME.top, width, height); g.clip();
  heatMap(g, r, px, py, level);
  contours(g, r, px, py, low, high);
  const arrows = drawArrows(g, r, px, py, width, height / (y1 - y0));
  drawPath(g, r, px, py);
  g.restore();
  axes(g, r, width, height, px, py);
  colourBar(g, low, high, width, height);
  canvas.dataset.arrows = arrows;
  canvas.dataset.path = r.path.length;
  canvas.dataset.step = r.step;
  canvas.dataset.grid = r.grid;
}

function heatMap(g, r, px, py, level) {
  const n = r.w1.length, m = r.w2.length;
  const cw = Math.abs(px(r.w1[1]) - px(r.w1[0])) + 1, ch = Math.abs(py(r.w2[1]) - py(r.w2[0])) + 1;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const v = r.loss[i][j];
      g.fillStyle = v === null ? "#d0d0d0" : colour(level(v));
      g.fillRect(px(r.w1[j]) - cw / 2, py(r.w2[i]) - ch / 2, cw, ch);
    }
  }
}

// Marching squares: for each level, the segments where the cost crosses it inside each grid cell.
function contours(g, r, px, py, low, high) {
  if (!(high > low)) return;
  g.strokeStyle = "rgba(255,255,255,0.55)"; g.lineWidth = 1;
  const levels = 12;
  for (let k = 1; k < levels; k++) {
    const c = low + (high - low) * (k / levels) ** 2;  // denser near the minimum, as the colours are
    g.beginPath();
    for (let i = 0; i + 1 < r.w2.length; i++) {
      for (let j = 0; j + 1 < r.w1.length; j++) {
        const corners = [[j, i], [j + 1, i], [j + 1, i + 1], [j, i + 1]].map(([a, b]) => [a, b, r.loss[b][a]]);
        if (corners.some((p) => p[2] === null)) continue;
        const crossings = [];
        for (let e = 0; e < 4; e++) {
          const [a, b] = [corners[e], corners[(e + 1) % 4]];
          if ((a[2] < c) !== (b[2] < c)) {
            const t = (c - a[2]) / (b[2] - a[2]);
            const wx = r.w1[a[0]] + t * (r.w1[b[0]] - r.w1[a[0]]), wy = r.w2[a[1]] + t * (r.w2[b[1]] - r.w2[a[1]]);
            crossings.push([px(wx), py(wy)]);
          }
        }
        for (let q = 0; q + 1 < crossings.length; q += 2) {
          g.moveTo(...crossings[q]); g.lineTo(...crossings[q + 1]);
        }
      }
    }
    g.stroke();
  }
}

// −∇C at each arrow's foot, drawn in pixels as a small gradient step would move the two weights;
// the longest arrow is scaled to the spacing between arrows, the others in proportion.
function drawArrows(g, r, px, py, width, sy) {
  const sx = width / (r.w1[r.w1.length - 1] - r.w1[0]);
  const steps = r.arrows.gradient.map(([g1, g2]) => (g1 === null || g2 === null ? [0, 0] : [-g1 * sx, g2 * sy]));
  const longest = Math.max(...steps.map(([dx, dy]) => Math.hypot(dx, dy)), 0);
  if (!(longest > 0)) return 0;
  const spacing = width / (Math.sqrt(steps.length) + 1);
  const scale = (0.85 * spacing) / longest;
  let drawn = 0;
  g.strokeStyle = "#fff"; g.fillStyle = "#fff"; g.lineWidth = 1.4;
  r.arrows.points.forEach(([w1, w2], k) => {
    const [dx, dy] = steps[k].map((d) => d * scale);
    const length = Math.hypot(dx, dy);
    if (length < 0.5) return;
    const [x, y] = [px(w1), py(w2)], [ux, uy] = [dx / length, dy / length], head = Math.min(6, 0.45 * length);
    g.beginPath(); g.moveTo(x, y); g.lineTo(x + dx, y + dy); g.stroke();
    g.beginPath();
    g.moveTo(x + dx, y + dy);
    g.lineTo(x + dx - head * ux + 0.5 * head * uy, y + dy - head * uy - 0.5 * head * ux);
    g.lineTo(x + dx - head * ux - 0.5 * head * uy, y + dy - head * uy + 0.5 * head * ux);
    g.fill();
    drawn++;
  });
  return drawn;
}

function drawPath(g, r, px, py) {
  if (r.path.length >= 2) {
    g.strokeStyle = "#ff5a36"; g.lineWidth = 2.2;
    g.beginPath();
    r.path.forEach(([w1, w2], k) => (k === 0 ? g.moveTo(px(w1), py(w2)) : g.lineTo(px(w1), py(w2))));
    g.stroke();
    const [s1, s2] = r.path[0];
    g.fillStyle = "#ff5a36";
    g.beginPath(); g.arc(px(s1), py(s2), 4, 0, 2 * Math.PI); g.fill();
  }
  const [c1, c2] = r.centre, [x, y] = [px(c1), py(c2)];
  g.fillStyle = "#fff"; g.strokeStyle = "#1d2330"; g.lineWidth = 1.5;
  g.beginPath(); g.moveTo(x, y - 7); g.lineTo(x + 7, y); g.lineTo(x, y + 7); g.lineTo(x - 7, y); g.closePath();
  g.fill(); g.stroke();
}

function axes(g, r, width, height, px, py) {
  g.strokeStyle = "#4a5368"; g.lineWidth = 1;
  g.strokeRect(FRAME.left, FRAME.top, width, height);
  g.fillStyle = "#1d2330"; g.font = "12px system-ui";
  const ticks = (values) => [values[0], (values[0] + values[values.length - 1]) / 2, values[values.length - 1]];
  g.textAlign = "center";
  for (const w of ticks(r.w1)) g.fillText(w.toPrecision(3), px(w), FRAME.top + height + 15);
  g.fillText(r.labels[0], FRAME.left + width / 2, FRAME.top + height + 34);
  g.textAlign = "right";
  for (const w of ticks(r.w2)) g.fillText(w.toPrecision(3), FRAME.left - 5, py(w) + 4);
  g.save();
  g.translate(14, FRAME.top + height / 2); g.rotate(-Math.PI / 2); g.textAlign = "center";
  g.fillText(r.labels[1], 0, 0);
  g.restore();
  g.textAlign = "left";
}

function colourBar(g, low, high, width, height) {
  const x = FRAME.left + width + 14, barWidth = 14;
  for (let k = 0; k < height; k++) {
    g.fillStyle = colour(Math.sqrt(1 - k / height));
    g.fillRect(x, FRAME.top + k, barWidth, 1.5);
  }
  g.fillStyle = "#1d2330"; g.font = "11px system-ui"; g.textAlign = "left";
  g.fillText(high.toPrecision(3), x + barWidth + 3, FRAME.top + 9);
  g.fillText(low.toPrecision(3), x + barWidth + 3, FRAME.top + height);
  g.fillText("C", x + barWidth + 3, FRAME.top + height / 2 + 4);
}

function fillFromURL() {
  const params = new URLSearchParams(location.search);
  for (const field of OPTIONS) if (params.has(field)) $(field).value = params.get(field).slice(0, 100);
  for (const field of TRAIN_FIELDS) if (params.has(field)) trainSettings[field] = params.get(field).slice(0, 100);
  session = params.get("session") || null;
}

window.addEventListener("DOMContentLoaded", async () => {
  $("surface-form").addEventListener("submit", (event) => { event.preventDefault(); drawSurface(); });
  $("train").addEventListener("click", trainSome);
  $("play").addEventListener("click", togglePlay);
  fillFromURL();
  await drawSurface();
  document.body.dataset.ready = "1";
});
