// The Derive page: the question goes to /api/derive and /api/check; the answer is drawn here,
// math with the vendored KaTeX.  The question lives in the URL's query string (the share link),
// and a URL that holds one fills the form and asks it on load.
"use strict";

const $ = (id) => document.getElementById(id);
const FIELDS = ["formula", "shapes", "wrt", "layout", "notation", "claim", "claim-wrt"];
let lastDerivation = null;

function question() {
  const q = {};
  for (const field of FIELDS) q[field] = $(field).value.trim();
  return q;
}

function shareURL(q) {
  const params = new URLSearchParams();
  for (const field of FIELDS) {
    const defaults = { layout: "code", notation: "jacobian" };
    if (q[field] && q[field] !== defaults[field]) params.set(field, q[field]);
  }
  return `${location.origin}${location.pathname}?${params}`;
}

function updateShare() {
  const url = shareURL(question());
  $("share").href = url;
  history.replaceState(null, "", url);
}

async function ask(path, body) {
  const response = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  let data;
  try { data = await response.json(); } catch { data = { error: `the server answered ${response.status}` }; }
  if (!response.ok || data.error) throw new Error(data.error || `the server answered ${response.status}`);
  return data.result;
}

function math(latex, into) {
  try {
    katex.render(latex, into, { throwOnError: false, displayMode: false });
  } catch (error) {
    into.textContent = latex;  // KaTeX missing or failing: the source still reads
  }
}

function cell(row, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function mark(line) {
  if (!line.checked) return ["? not checked", "bad"];
  const error = line.error === null ? " (no error: not finite)" : ` ${line.error.toExponential(0)}`;
  return line.ok ? [`✓${error}`, "ok"] : [`✗${error}`, "bad"];
}

function drawDerivation(result) {
  lastDerivation = result;
  $("layout-line").textContent = result.layout_line;
  const forward = $("forward").tBodies[0];
  forward.replaceChildren();
  for (const q of result.forward) {
    const row = forward.insertRow();
    math(q.name, cell(row));
    math(q.latex, cell(row));
    cell(row).textContent = `(${q.shape.join(", ")})`;
  }
  drawBackward();
  $("summary").textContent = result.summary;
  $("cost").textContent = result.cost;
  $("result").hidden = false;
}

function drawBackward() {
  if (!lastDerivation) return;
  const notation = $("notation").value;
  const backward = $("backward").tBodies[0];
  backward.replaceChildren();
  for (const line of lastDerivation.lines) {
    const row = backward.insertRow();
    row.className = line.ok ? "line line-ok" : "line line-bad";
    math(line.name_latex, cell(row, "name"));
    const formula = cell(row, "formula");
    if (notation === "jacobian") {
      math(line.latex, formula);
    } else {
      formula.className = "formula text";
      formula.textContent = line.notations[notation] ??
        `the ${notation} notation follows the code's layout: choose "as written"`;
    }
    cell(row).textContent = `(${line.shape.join(", ")})`;
    cell(row).textContent = line.products.join(", ");
    const [text, kind] = mark(line);
    const td = cell(row, `mark ${kind}`);
    td.textContent = text;
    if (line.problem) td.title = line.problem;
  }
}

function status(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function derive() {
  const q = question();
  updateShare();
  status("deriving…", false);
  try {
    const result = await ask("/api/derive", { formula: q.formula, shapes: q.shapes, wrt: q.wrt, layout: q.layout });
    drawDerivation(result);
    status(result.ok ? "every line checked ✓" : "some lines disagree ✗", !result.ok);
    if (!$("claim-wrt").value) $("claim-wrt").value = (q.wrt.split(/[\s,;]+/)[0] || "");
  } catch (error) {
    $("result").hidden = true;
    status(error.message, true);
  }
}

async function check() {
  const q = question();
  updateShare();
  const box = $("verdict");
  box.hidden = false;
  box.className = "";
  $("verdict-line").textContent = "checking…";
  $("verdict-details").textContent = "";
  try {
    const result = await ask("/api/check", { formula: q.formula, shapes: q.shapes, wrt: q["claim-wrt"], claim: q.claim });
    box.className = result.ok ? "good" : "bad";
    box.dataset.kinds = result.kinds.join(" ");
    $("verdict-line").textContent = result.verdict;
    $("verdict-details").textContent = result.details.join("\n");
  } catch (error) {
    box.className = "bad";
    box.dataset.kinds = "error";
    $("verdict-line").textContent = error.message;
  }
}

function fillFromURL() {
  const params = new URLSearchParams(location.search);
  for (const field of FIELDS) {
    if (params.has(field)) $(field).value = params.get(field);
  }
  return params;
}

window.addEventListener("DOMContentLoaded", async () => {
  $("derive-form").addEventListener("submit", (event) => { event.preventDefault(); derive(); });
  $("check-form").addEventListener("submit", (event) => { event.preventDefault(); check(); });
  $("notation").addEventListener("change", () => { drawBackward(); updateShare(); });
  const params = fillFromURL();
  if (params.get("formula")) {
    await derive();
    if (params.get("claim")) await check();
  } else {
    $("formula").value = "0.5*sum((sigmoid(W@x + b) - y)**2)";
    $("shapes").value = "W=3x4, x=4x1, b=3x1, y=3x1";
    $("wrt").value = "W, b";
  }
  document.body.dataset.ready = "1";
});
