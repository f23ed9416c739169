// layerwise serve: the page. Three tabs (Draw, Train live, Runs) over the JSON API under /api/.
"use strict";

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
};

// --- the API --------------------------------------------------------------------------

async function api(path, options = {}) {
  const response = await fetch(path, options);
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  return body;
}
const post = (path, body) =>
  api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });

$("problem").addEventListener("click", () => problem(null));

function problem(message) {
  const box = $("problem");
  box.textContent = message || "";
  box.hidden = !message;
}

// --- colours --------------------------------------------------------------------------

// viridis (sequential) and red-blue (diverging: blue negative, white zero, red positive),
// as the run reports' figures draw them
const VIRIDIS = [[68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
  [31, 158, 137], [53, 183, 121], [110, 206, 88], [181, 222, 43], [253, 231, 37]];
const RDBU = [[5, 48, 97], [33, 102, 172], [67, 147, 195], [146, 197, 222], [209, 229, 240],
  [247, 247, 247], [253, 219, 199], [244, 165, 130], [214, 96, 77], [178, 24, 43], [103, 0, 31]];
function ramp(stops) {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (stops.length - 1), j = Math.min(Math.floor(x), stops.length - 2), f = x - j;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = stops[j][c] + (stops[j + 1][c] - stops[j][c]) * f;
  }
  return lut;
}
const LUTS = { sequential: ramp(VIRIDIS), diverging: ramp(RDBU), grey: ramp([[0, 0, 0], [255, 255, 255]]) };
const lutCss = (lut) => {
  const stops = [];
  for (let i = 0; i <= 10; i++) { const k = Math.round(i * 25.5) * 3; stops.push(`rgb(${lut[k]},${lut[k + 1]},${lut[k + 2]})`); }
  return `linear-gradient(90deg, ${stops.join(",")})`;
};
const PALETTE = ["#3b5bdb", "#e8590c", "#2b8a3e", "#c2255c", "#7048e8", "#0c8599", "#e67700", "#5c940d", "#862e9c", "#495057"];

function bytesOf(encoded) {
  const raw = atob(encoded.data), out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

// A canvas of width x height cells painted from bytes (offset: the first cell), each cell
// scale CSS pixels; cells past `count` stay transparent.
function paint(bytes, width, height, lut, scale, offset = 0, count = width * height, title = null) {
  const canvas = el("canvas", { width, height, title });
  canvas.style.width = `${width * scale}px`;
  canvas.style.height = `${height * scale}px`;
  const ctx = canvas.getContext("2d"), image = ctx.createImageData(width, height);
  for (let i = 0; i < count; i++) {
    const v = bytes[offset + i];
    image.data.set([lut[v * 3], lut[v * 3 + 1], lut[v * 3 + 2], 255], i * 4);
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

// n values as a grid: columns a divisor of n near 1.3 sqrt(n) when there is one
function gridOf(n) {
  if (n <= 12) return [n, 1];
  const target = Math.sqrt(n) * 1.3;
  let best = 0;
  for (let c = Math.ceil(Math.sqrt(n)); c <= Math.floor(2 * Math.sqrt(n)); c++) {
    if (n % c === 0 && (!best || Math.abs(c - target) < Math.abs(best - target))) best = c;
  }
  const cols = best || Math.ceil(Math.sqrt(n));
  return [cols, Math.ceil(n / cols)];
}

// --- tabs -----------------------------------------------------------------------------

const TABS = ["draw", "train", "runs"];
function showTab() {
  const name = TABS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "draw";
  for (const tab of TABS) {
    $(`tab-${tab}`).hidden = tab !== name;
    document.querySelector(`[data-tab="${tab}"]`).classList.toggle("active", tab === name);
  }
  if (name === "draw") loadModels();
  if (name === "runs") loadRuns();
  if (name === "train") drawTrainCharts();
}
window.addEventListener("hashchange", showTab);

// --- Draw -----------------------------------------------------------------------------

const draw = { models: [], model: null, drawing: false, last: null, inflight: false, dirty: false, blank: true };
const canvas = $("draw-canvas"), ctx = canvas.getContext("2d", { willReadFrequently: true });
const CELLS = 56; // the drawing is sent as CELLS x CELLS ink values (each 5x5 canvas pixels)

function clearCanvas() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  draw.blank = true;
  $("canvas-hint").hidden = false;
  showPrediction(null);
}

// strokes as thick as the training images' strokes: the 8x8 digits were drawn with strokes
// of about an eighth of their width; MNIST's are about a tenth of a digit's height
function strokeWidth() {
  const image = draw.model && draw.model.image;
  return canvas.width / (image && Math.max(...image.shape) <= 16 ? 9 : 12);
}

function point(event) {
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * (canvas.width / box.width), (event.clientY - box.top) * (canvas.height / box.height)];
}

canvas.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  canvas.setPointerCapture(event.pointerId);
  draw.drawing = true;
  draw.last = point(event);
  ctx.fillStyle = "#111";
  ctx.beginPath();
  ctx.arc(draw.last[0], draw.last[1], strokeWidth() / 2, 0, 2 * Math.PI);
  ctx.fill();
  draw.blank = false;
  $("canvas-hint").hidden = true;
  schedulePrediction();
});
canvas.addEventListener("pointermove", (event) => {
  if (!draw.drawing) return;
  const p = point(event);
  ctx.strokeStyle = "#111";
  ctx.lineWidth = strokeWidth();
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(draw.last[0], draw.last[1]);
  ctx.lineTo(p[0], p[1]);
  ctx.stroke();
  draw.last = p;
  schedulePrediction();
});
const endStroke = () => { if (draw.drawing) { draw.drawing = false; schedulePrediction(); } };
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);
$("clear").addEventListener("click", clearCanvas);

// the canvas as ink from 0 to 1, CELLS x CELLS (the mean of each block of pixels)
function drawingCells() {
  const { width, height } = canvas, pixels = ctx.getImageData(0, 0, width, height).data;
  const block = width / CELLS, rows = [];
  for (let r = 0; r < CELLS; r++) {
    const row = [];
    for (let c = 0; c < CELLS; c++) {
      let sum = 0;
      for (let y = r * block; y < (r + 1) * block; y++)
        for (let x = c * block; x < (c + 1) * block; x++) sum += pixels[(y * width + x) * 4];
      row.push(Math.round((1 - sum / (block * block * 255)) * 1000) / 1000);
    }
    rows.push(row);
  }
  return rows;
}

function schedulePrediction() {
  draw.dirty = true;
  if (!draw.inflight) predictNow();
}

async function predictNow() {
  if (!draw.model || draw.blank || !draw.model.image) { draw.dirty = false; return; }
  draw.inflight = true;
  draw.dirty = false;
  canvas.dataset.pending = "1";
  try {
    const answer = await post("/api/activations", { model: draw.model.name, drawing: drawingCells() });
    if (!draw.blank) showPrediction(answer);
    problem(null);
  } catch (error) {
    problem(error.message);
  } finally {
    draw.inflight = false;
    delete canvas.dataset.pending;
    if (draw.dirty) predictNow();
  }
}

function showPrediction(answer) {
  const label = $("predicted-label"), bars = $("probabilities");
  bars.replaceChildren();
  if (!answer) {
    label.textContent = "–";
    $("confidence").textContent = "draw to predict";
    paintInput(null);
    $("layers").replaceChildren(el("p", { class: "empty", text: "Each layer's output appears here as you draw." }));
    return;
  }
  const classes = draw.model.classes;
  if (answer.probabilities) {
    const top = answer.probabilities.indexOf(Math.max(...answer.probabilities));
    label.textContent = String(answer.prediction);
    $("confidence").textContent = `probability ${(answer.probabilities[top] * 100).toFixed(1)}%`;
    answer.probabilities.forEach((p, i) => {
      const fill = el("div", { class: "fill" });
      fill.style.width = `${(p * 100).toFixed(1)}%`;
      const best = i === top ? " best" : "";
      bars.append(
        el("div", { class: `label${best}`, text: String(classes[i]) }),
        el("div", { class: best.trim(), "data-class": String(classes[i]) }, el("div", { class: "track" }, fill)),
        el("div", { class: "pct", text: `${(p * 100).toFixed(1)}%` }),
      );
    });
  } else {
    label.textContent = answer.prediction.map((v) => v.toFixed(3)).join(", ");
    $("confidence").textContent = "the network's outputs (a regression)";
  }
  paintInput(answer.input);
  showLayers(answer);
}

function paintInput(encoded) {
  const target = $("input-image"), image = draw.model && draw.model.image;
  const [h, w] = image ? image.shape : [8, 8];
  target.width = w;
  target.height = h;
  const c = target.getContext("2d");
  c.fillStyle = "#000";
  c.fillRect(0, 0, w, h);
  if (!encoded) return;
  const bytes = bytesOf(encoded), data = c.createImageData(w, h);
  for (let i = 0; i < w * h; i++) data.data.set([bytes[i], bytes[i], bytes[i], 255], i * 4);
  c.putImageData(data, 0, 0);
}

function shapeText(shape) {
  return shape.length === 1 ? `${shape[0]} values` : shape.join(" × ");
}

function layerTitle(layer) {
  const label = layer.label;
  const m = label.match(/^Linear\((\d+), (\d+)/);
  if (m) return `Linear ${m[1]} → ${m[2]}`;
  const conv = label.match(/^Conv2D\((\d+), (\d+), kernel_size=\((\d+), (\d+)\)/);
  if (conv) return `Conv2D ${conv[1]} → ${conv[2]}, ${conv[3]}×${conv[4]}`;
  const pool = label.match(/^(MaxPool2D|AvgPool2D)\(kernel_size=\((\d+), (\d+)\)/);
  if (pool) return `${pool[1]} ${pool[2]}×${pool[3]}`;
  return layer.type;
}

const PASS_THROUGH = new Set(["Reshape", "Flatten", "Dropout"]);

function showLayers(answer) {
  const box = $("layers");
  box.replaceChildren();
  const image = draw.model.image;
  // the input, as the network gets it
  if (image) {
    const [h, w] = image.shape, scale = Math.max(2, Math.floor(72 / Math.max(h, w)));
    box.append(el("div", { class: "layer" },
      el("div", { class: "title", text: "Input" }),
      paint(bytesOf(answer.input), w, h, LUTS.grey, scale),
      el("div", { class: "shape", text: `${h} × ${w} pixels` })));
  }
  const last = answer.layers.length - 1;
  answer.layers.forEach((layer, index) => {
    if (PASS_THROUGH.has(layer.type)) return; // the same values as the layer before, reshaped
    box.append(el("div", { class: "arrow", text: "→" }));
    const bytes = bytesOf(layer), lut = LUTS[layer.scale];
    const card = el("div", { class: "layer", title: `${layer.index}: ${layer.label}` },
      el("div", { class: "title", text: layerTitle(layer) }));
    const shape = layer.shape;
    if (shape.length === 3) {
      const [channels, h, w] = shape, shown = layer.channels_shown;
      const cols = shown <= 4 ? shown : shown <= 8 ? 4 : Math.ceil(Math.sqrt(shown));
      const size = Math.max(16, Math.min(38, Math.floor(150 / cols) - 3));
      const scale = Math.max(1, size / Math.max(h, w));
      const maps = el("div", { class: "maps" });
      maps.style.gridTemplateColumns = `repeat(${cols}, auto)`;
      for (let ch = 0; ch < shown; ch++) maps.append(paint(bytes, w, h, lut, scale, ch * h * w, h * w, `channel ${ch + 1}`));
      card.append(maps);
      if (shown < channels) card.append(el("div", { class: "more", text: `first ${shown} of ${channels} channels` }));
    } else {
      const n = shape.reduce((a, b) => a * b, 1);
      const classes = draw.model.classes;
      if (classes && n === classes.length && n <= 20 && index >= last - 1) {
        // an output layer: one cell per class, labelled
        const cell = Math.min(14, Math.floor(180 / n));
        const labels = el("div", { class: "classes" });
        for (const c of classes) labels.append(el("span", { text: String(c) }));
        labels.style.gridTemplateColumns = `repeat(${n}, ${cell}px)`;
        card.append(paint(bytes, n, 1, lut, cell, 0, n, `outputs for ${classes.join(", ")}`), labels);
      } else {
        const [cols, rows] = gridOf(n);
        const scale = Math.max(3, Math.min(16, Math.floor(112 / Math.max(cols, rows))));
        card.append(paint(bytes, cols, rows, lut, scale, 0, n));
      }
    }
    card.append(el("div", { class: "shape", text: `${shapeText(shape)} · ${fmt(layer.min)} to ${fmt(layer.max)}` }));
    box.append(card);
  });
  $("layers-legend").replaceChildren(
    legendRamp(LUTS.sequential, "low", "high"), el("span", { text: " values of one sign, " }),
    legendRamp(LUTS.diverging, "−", "+"), el("span", { text: " both signs (white: 0)" }));
}

function legendRamp(lut, low, high) {
  const bar = el("span", { class: "ramp" });
  bar.style.background = lutCss(lut);
  return el("span", { class: "legend" }, el("span", { text: low }), bar, el("span", { text: high }));
}

function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.001 || a >= 10000)) return v.toExponential(1);
  if (a !== 0 && a < 0.01) return v.toFixed(3);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

async function loadModels() {
  try {
    const { models } = await api("/api/models");
    draw.models = models;
    const picker = $("model-picker"), previous = draw.model && draw.model.name;
    picker.replaceChildren();
    for (const m of models) {
      const what = m.error ? "cannot be read" : `${m.network}${m.dataset ? ` · ${m.dataset}` : ""}`;
      picker.append(el("option", { value: m.name, disabled: m.error ? true : null, text: `${m.name} — ${what}` }));
    }
    const usable = models.filter((m) => !m.error);
    const chosen = usable.find((m) => m.name === previous) || usable.find((m) => m.image) || usable[0];
    $("where").textContent = `${usable.length} model${usable.length === 1 ? "" : "s"} served`;
    const broken = models.filter((m) => m.error);
    const brokenNote = $("broken-models");
    brokenNote.hidden = !broken.length;
    brokenNote.textContent = broken.length
      ? `${broken.length === 1 ? "One model file cannot be read" : `${broken.length} model files cannot be read`} `
        + `(the others are served): ${broken.map((m) => `${m.name}: ${m.error}`).join("; ")}`
      : "";
    if (!chosen) {
      draw.model = null;
      $("model-info").textContent = "No model yet: train one on the Train live tab, or start layerwise serve with a run directory or a model file.";
      return;
    }
    picker.value = chosen.name;
    if (!draw.model || draw.model.name !== chosen.name || draw.model.file !== chosen.file) selectModel(chosen);
  } catch (error) {
    problem(error.message);
  }
}

function selectModel(model) {
  draw.model = model;
  const info = $("model-info");
  info.replaceChildren(...[
    el("span", {}, el("b", { text: model.network })),
    el("span", { text: `${model.parameters.toLocaleString()} parameters` }),
    model.dataset ? el("span", { text: `trained on ${model.dataset}` }) : null,
    model.image ? el("span", { text: `input: ${model.image.shape.join("×")} image` }) : el("span", { text: `${model.n_features} inputs (not an image)` }),
    model.note ? el("span", { text: model.note }) : null,
  ].filter(Boolean));
  const image = model.image;
  $("draw-note").textContent = !image
    ? "This model does not take images: use POST /api/predict with rows of its inputs."
    : image.framing === "mnist"
      ? "The drawing is centred and scaled to 20×20 of 28×28, as MNIST's digits were."
      : image.framing === "fill"
        ? "The drawing is scaled to fill the frame, as the training images were."
        : `The whole square becomes the ${image.shape.join("×")} input: draw large, filling it.`;
  $("input-note").textContent = image
    ? `${image.shape.join("×")} pixels, 0 to ${image.pixel_max}, as the model's training images`
    : "";
  showPrediction(null);
  if (!draw.blank) schedulePrediction();
  loadWeights(model);
}

$("model-picker").addEventListener("change", (event) => {
  const model = draw.models.find((m) => m.name === event.target.value);
  if (model) selectModel(model);
});

async function loadWeights(model) {
  const box = $("weights");
  box.replaceChildren();
  try {
    const answer = await api(`/api/weights?model=${encodeURIComponent(model.name)}`);
    if (draw.model !== model) return;
    if (!answer.tiles) {
      $("weights-title").textContent = "First layer's weights";
      box.append(el("p", { class: "empty", text: "This model's first layer has nothing to show as images." }));
      $("weights-legend").replaceChildren();
      return;
    }
    $("weights-title").textContent = answer.title;
    const [n, h, w] = answer.tiles.shape, bytes = bytesOf(answer.tiles);
    const scale = Math.max(3, Math.floor(44 / Math.max(h, w)));
    for (let i = 0; i < n; i++) {
      box.append(el("div", { class: "tile" }, paint(bytes, w, h, LUTS.diverging, scale, i * h * w, h * w),
        el("span", { text: answer.captions[i] })));
    }
    if (answer.units > n) box.append(el("p", { class: "empty", text: `… and ${answer.units - n} more` }));
    $("weights-legend").replaceChildren(legendRamp(LUTS.diverging, "negative", "positive"),
      el("span", { text: `one scale, ±${fmt(Math.max(-answer.tiles.min, answer.tiles.max))}` }));
  } catch (error) {
    problem(error.message);
  }
}

// --- charts (SVG) ----------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, text = null) => {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
};

function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) { hi = lo + 1; }
  const step0 = (hi - lo) / count, mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0) || step0;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

// ticks of a log axis from 10^lo to 10^hi: the powers of ten, 2 and 5 times them when the
// axis spans less than two decades, and more within a decade
function logTicks(lo, hi) {
  const ticks = [];
  const steps = hi - lo < 0.7 ? [1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9] : hi - lo < 2 ? [1, 2, 5] : [1];
  for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) {
    for (const s of steps) { const v = s * 10 ** k; if (Math.log10(v) >= lo && Math.log10(v) <= hi) ticks.push(v); }
  }
  return ticks;
}

// series: [{name, color, values: [number|null per epoch], dash}]
function lineChart(container, series, { xLabel = "epoch", yLabel = "", log = false, yRange = null, empty = "no data yet" } = {}) {
  const width = Math.max(container.clientWidth, 300), height = Math.max(container.clientHeight, 160);
  const m = { left: 54, right: 14, top: 26, bottom: 38 };
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": yLabel });
  const n = Math.max(0, ...series.map((s) => s.values.length));
  container.dataset.points = String(n);
  const tf = log ? (v) => Math.log10(v) : (v) => v;
  const all = series.flatMap((s) => s.values).filter((v) => v !== null && Number.isFinite(v) && (!log || v > 0));
  if (!all.length) {
    root.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "nodata" }, empty));
    container.replaceChildren(root);
    return;
  }
  let lo = yRange ? yRange[0] : Math.min(...all.map(tf)), hi = yRange ? yRange[1] : Math.max(...all.map(tf));
  if (!yRange) { const pad = (hi - lo) * 0.06 || Math.abs(hi) * 0.1 || 1; lo -= pad; hi += pad; }
  const x = (i) => m.left + (n <= 1 ? 0.5 : i / (n - 1)) * (width - m.left - m.right);
  const y = (v) => m.top + (1 - (tf(v) - lo) / (hi - lo)) * (height - m.top - m.bottom);
  // grid and ticks
  for (const v of log ? logTicks(lo, hi) : niceTicks(lo, hi).filter((t) => t >= lo && t <= hi)) {
    const yy = y(v);
    root.append(svg("line", { x1: m.left, x2: width - m.right, y1: yy, y2: yy, class: "grid" }));
    root.append(svg("text", { x: m.left - 6, y: yy + 4, "text-anchor": "end", class: "tick" }, fmt(v)));
  }
  const xTicks = niceTicks(1, Math.max(n, 2), Math.min(6, Math.max(n, 2))).filter((t) => Number.isInteger(t) && t >= 1 && t <= n);
  for (const t of xTicks) {
    root.append(svg("text", { x: x(t - 1), y: height - m.bottom + 16, "text-anchor": "middle", class: "tick" }, String(t)));
  }
  root.append(svg("line", { x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom, class: "axis" }));
  root.append(svg("line", { x1: m.left, x2: m.left, y1: m.top, y2: height - m.bottom, class: "axis" }));
  root.append(svg("text", { x: (m.left + width - m.right) / 2, y: height - 6, "text-anchor": "middle", class: "axis-label" }, xLabel));
  root.append(svg("text", { x: 12, y: (m.top + height - m.bottom) / 2, "text-anchor": "middle", class: "axis-label",
    transform: `rotate(-90 12 ${(m.top + height - m.bottom) / 2})` }, yLabel));
  // lines
  for (const s of series) {
    let d = "", pen = false;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v) || (log && v <= 0)) { pen = false; return; }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    const points = s.values.filter((v) => v !== null).length;
    if (points === 1) {
      const i = s.values.findIndex((v) => v !== null);
      root.append(svg("circle", { cx: x(i), cy: y(s.values[i]), r: 3, fill: s.color }));
    }
    const line = svg("path", { d, class: "line", stroke: s.color });
    if (s.dash) line.setAttribute("stroke-dasharray", "5 4");
    root.append(line);
  }
  // key, top right
  let kx = width - m.right;
  for (const s of [...series].reverse()) {
    const label = svg("text", { x: kx, y: 13, "text-anchor": "end", class: "key" }, s.name);
    root.append(label);
    const w = s.name.length * 6.6 + 4;
    root.append(svg("line", { x1: kx - w - 18, x2: kx - w - 4, y1: 9, y2: 9, stroke: s.color, "stroke-width": 2.5,
      "stroke-dasharray": s.dash ? "4 3" : "none" }));
    kx -= w + 30;
  }
  container.replaceChildren(root);
}

// --- Train live ---------------------------------------------------------------------------

const train = { form: [], status: null, epochs: [], source: null, frame: 0, lastRun: null };

async function loadSettings() {
  const { settings, defaults } = await api("/api/settings");
  train.form = settings;
  $("settings-note").textContent = `Defaults: ${defaults}. Changed settings are in blue.`;
  const box = $("fields");
  box.replaceChildren();
  const groups = ["network", "training", "data"];
  for (const group of groups) {
    const set = el("fieldset", {}, el("legend", { text: group }));
    for (const f of settings.filter((s) => s.group === group)) {
      const id = `setting-${f.name}`;
      let input;
      if (f.kind === "bool") {
        input = el("input", { type: "checkbox", id, name: f.name });
        input.checked = f.default === true;
      } else if (f.choices) {
        input = el("select", { id, name: f.name });
        for (const c of f.choices) input.append(el("option", { value: c, text: c }));
        input.value = f.default;
      } else {
        input = el("input", { type: "text", id, name: f.name, value: f.default, spellcheck: "false" });
        if (f.name === "layers") input.placeholder = "none: the network of hidden";
      }
      const row = el("div", { class: "field", "data-name": f.name },
        el("label", { for: id, text: f.name.replaceAll("_", " "), title: f.help }), input);
      const help = () => { $("field-help").textContent = `${f.name}: ${f.help} (default ${f.default})`; };
      row.addEventListener("mouseenter", help);
      input.addEventListener("focus", help);
      input.addEventListener("input", () => markChanged(row, f, input));
      input.addEventListener("change", () => markChanged(row, f, input));
      set.append(row);
    }
    box.append(set);
  }
}

function valueOf(f, input) {
  return f.kind === "bool" ? input.checked : input.value.trim();
}

function markChanged(row, f, input) {
  row.classList.toggle("changed", valueOf(f, input) !== f.default);
}

function changedSettings() {
  const settings = {};
  for (const f of train.form) {
    const input = $(`setting-${f.name}`), value = valueOf(f, input);
    if (value !== f.default) settings[f.name] = value;
  }
  return settings;
}

$("reset-settings").addEventListener("click", () => {
  for (const f of train.form) {
    const input = $(`setting-${f.name}`);
    if (f.kind === "bool") input.checked = f.default === true; else input.value = f.default;
    markChanged(input.closest(".field"), f, input);
  }
});

$("train-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("train-start").disabled = true;
  try {
    const status = await post("/api/train", { settings: changedSettings() });
    problem(null);
    applyStatus(status, true);
    follow();
  } catch (error) {
    problem(error.message);
    $("train-start").disabled = false;
  }
});

$("train-stop").addEventListener("click", async () => {
  $("train-stop").disabled = true;
  try { await post("/api/train/stop", {}); } catch (error) { problem(error.message); }
});

$("train-resume").addEventListener("click", () => resumeRun(train.lastRun, null));

async function resumeRun(runId, epochs) {
  try {
    const body = { run: runId };
    if (epochs) body.epochs = epochs;
    const status = await post("/api/train/resume", body);
    problem(null);
    location.hash = "#train";
    applyStatus(status, true);
    follow();
  } catch (error) {
    problem(error.message);
  }
}

function follow() {
  if (train.source) train.source.close();
  const source = new EventSource("/api/train/events");
  train.source = source;
  source.addEventListener("status", (e) => { const status = JSON.parse(e.data); applyStatus(status, "epochs" in status); });
  source.addEventListener("epoch", (e) => { train.epochs.push(JSON.parse(e.data)); scheduleTrainCharts(); });
  source.addEventListener("end", (e) => {
    source.close();
    if (train.source === source) train.source = null;
    applyStatus(JSON.parse(e.data), false);
    loadModels();
    if (!$("tab-runs").hidden) loadRuns();
  });
  source.onerror = () => {
    source.close();
    if (train.source === source) train.source = null;
    setTimeout(checkTraining, 1500);
  };
}

async function checkTraining() {
  try {
    const status = await api("/api/train");
    applyStatus(status, true);
    if (["starting", "running", "writing"].includes(status.state)) follow();
  } catch (error) {
    problem(error.message);
  }
}

function applyStatus(status, withEpochs) {
  train.status = status;
  if (withEpochs && status.epochs) train.epochs = status.epochs.slice();
  const active = ["starting", "running", "writing"].includes(status.state);
  $("train-state").textContent = status.state;
  $("train-state").className = `badge ${status.state}`;
  $("train-run").textContent = status.run ? status.run : "";
  $("train-start").disabled = active;
  $("train-stop").disabled = !active || status.state === "writing";
  $("train-message").textContent = status.message || status.description || "";
  train.lastRun = status.run;
  $("train-resume").hidden = status.state !== "stopped";
  scheduleTrainCharts();
}

function scheduleTrainCharts() {
  if (train.frame) return;
  train.frame = requestAnimationFrame(() => { train.frame = 0; drawTrainCharts(); });
}

function drawTrainCharts() {
  if ($("tab-train").hidden) return;
  const e = train.epochs, status = train.status, total = status && status.epochs_total;
  const done = e.length;
  $("train-epoch").textContent = total ? `epoch ${done} of ${total}` : "";
  $("train-progress").style.width = total ? `${Math.min(100, (100 * done) / total)}%` : "0";
  const lastOf = (name) => { for (let i = e.length - 1; i >= 0; i--) if (e[i][name] !== null && e[i][name] !== undefined) return e[i][name]; return null; };
  const metric = (what, value, digits = 4) => el("div", { class: "metric" },
    el("span", { class: "value", text: value === null ? "–" : value.toFixed(digits) }), el("span", { class: "what", text: what }));
  $("train-metrics").replaceChildren(
    metric("training loss", lastOf("train_loss")), metric("validation loss", lastOf("val_loss")),
    metric("training accuracy", lastOf("train_accuracy")), metric("validation accuracy", lastOf("val_accuracy")));
  const col = (name) => e.map((r) => (r[name] === undefined ? null : r[name]));
  lineChart($("loss-chart"), [
    { name: "training", color: PALETTE[0], values: col("train_loss") },
    { name: "validation", color: PALETTE[1], values: col("val_loss") },
  ], { yLabel: "loss", empty: "start a training to see its loss per epoch" });
  lineChart($("accuracy-chart"), [
    { name: "training", color: PALETTE[0], values: col("train_accuracy") },
    { name: "validation", color: PALETTE[1], values: col("val_accuracy") },
  ], { yLabel: "accuracy", empty: "and its accuracy" });
  const names = [...new Set(e.flatMap((r) => Object.keys(r.grad_norms || {})))];
  lineChart($("norms-chart"), names.map((name, i) => ({
    name, color: PALETTE[i % PALETTE.length], values: e.map((r) => (r.grad_norms && r.grad_norms[name] !== undefined ? r.grad_norms[name] : null)),
  })), { yLabel: "gradient norm", log: true, empty: "and each layer's gradient norm" });
}

window.addEventListener("resize", () => { drawTrainCharts(); drawCompare(); });

// --- Runs -------------------------------------------------------------------------------

const runs = { list: [], checked: new Set(), curves: new Map(), selected: null };

async function loadRuns() {
  try {
    const answer = await api("/api/runs");
    runs.list = answer.runs;
    $("runs-where").textContent = `from ${answer.folders.join(", ")}`;
    const ids = new Set(runs.list.map((r) => r.id));
    for (const id of [...runs.checked]) if (!ids.has(id)) runs.checked.delete(id);
    if (!runs.checked.size) runs.list.filter((r) => r.epochs > 0).slice(0, 3).forEach((r) => runs.checked.add(r.id));
    renderRuns();
    await Promise.all([...runs.checked].map(loadCurves));
    drawCompare();
    if ((!runs.selected || !ids.has(runs.selected)) && runs.list.length) showReport(runs.list[0].id);
  } catch (error) {
    problem(error.message);
  }
}

function renderRuns() {
  const body = document.querySelector("#runs-table tbody");
  body.replaceChildren();
  if (!runs.list.length) {
    body.append(el("tr", {}, el("td", { colspan: 8, class: "empty", text: "No runs yet in the folders served." })));
  }
  const colours = colourOfRuns();
  for (const run of runs.list) {
    const box = el("input", { type: "checkbox", title: "overlay its curves" });
    box.checked = runs.checked.has(run.id);
    box.addEventListener("click", (event) => event.stopPropagation());
    box.addEventListener("change", async () => {
      if (box.checked) runs.checked.add(run.id); else runs.checked.delete(run.id);
      renderRuns();
      if (box.checked) await loadCurves(run.id);
      drawCompare();
    });
    const swatch = el("span", { class: "swatch" });
    swatch.style.background = colours.get(run.id) || "transparent";
    const accuracy = run.accuracy === null || run.accuracy === undefined ? "" : run.accuracy.toFixed(4);
    const row = el("tr", { class: run.id === runs.selected ? "selected" : "", "data-run": run.id },
      el("td", {}, box),
      el("td", { class: "run", title: `${run.id}: ${run.path}` }, swatch, run.name),
      el("td", { text: run.command || "" }),
      el("td", { text: run.dataset || "" }),
      el("td", { class: "network", text: run.network || "", title: run.network || "" }),
      el("td", { class: "num", text: run.epochs ? String(run.epochs) : "" }),
      el("td", { class: "num", text: accuracy, title: run.evaluated_on ? `${run.evaluated_on} accuracy` : "" }),
      el("td", {}, el("span", { class: `badge ${run.status}`, text: run.status })));
    row.addEventListener("click", () => showReport(run.id));
    body.append(row);
  }
}

function colourOfRuns() {
  const colours = new Map();
  [...runs.checked].forEach((id, i) => colours.set(id, PALETTE[i % PALETTE.length]));
  return colours;
}

async function loadCurves(id) {
  try {
    const answer = await api(`/api/runs/curves?id=${encodeURIComponent(id)}`);
    runs.curves.set(id, answer.curves);
  } catch (error) {
    runs.checked.delete(id);
  }
}

function drawCompare() {
  if ($("tab-runs").hidden) return;
  const colours = colourOfRuns(), loss = [], accuracy = [];
  let fallback = false;
  for (const id of runs.checked) {
    const c = runs.curves.get(id);
    if (!c) continue;
    const name = id.split("/").pop();
    const vl = c.val_loss || c.train_loss, va = c.val_accuracy || c.train_accuracy;
    if (!c.val_loss && c.train_loss) fallback = true;
    if (vl) loss.push({ name, color: colours.get(id), values: vl, dash: !c.val_loss });
    if (va) accuracy.push({ name, color: colours.get(id), values: va, dash: !c.val_accuracy });
  }
  $("compare-loss-note").textContent = fallback ? "(dashed: training loss, for runs without validation)" : "";
  lineChart($("compare-loss"), loss, { yLabel: "loss", empty: "tick runs to compare them" });
  lineChart($("compare-accuracy"), accuracy, { yLabel: "accuracy", empty: "tick runs to compare them" });
}

async function showReport(id) {
  runs.selected = id;
  for (const row of document.querySelectorAll("#runs-table tbody tr")) row.classList.toggle("selected", row.dataset.run === id);
  try {
    const answer = await api(`/api/runs/report?id=${encodeURIComponent(id)}`);
    const s = answer.summary;
    $("report-title").textContent = `Report: ${id}`;
    const actions = $("report-actions");
    actions.replaceChildren();
    if (s.resumable && s.status === "interrupted") {
      const button = el("button", { type: "button", class: "primary small", text: "Resume training" });
      button.addEventListener("click", () => resumeRun(id, null));
      actions.append(button);
    } else if (s.resumable) {
      const epochs = el("input", { type: "number", min: String((s.epochs || 0) + 1), value: String((s.epochs || 0) * 2 || 10) });
      const button = el("button", { type: "button", class: "small", text: "Train on" });
      button.addEventListener("click", () => resumeRun(id, Number(epochs.value)));
      actions.append(el("span", { class: "note", text: "to" }), epochs, el("span", { class: "note", text: "epochs in total" }), button);
    }
    const box = $("report");
    box.replaceChildren();
    if (answer.markdown) {
      box.append(...renderMarkdown(answer.markdown, id));
    } else {
      box.append(el("p", { class: "empty", text: s.status === "interrupted"
        ? `This run stopped before it finished (${s.epochs} epochs); its checkpoint can be resumed.`
        : "This run has no report.md." }));
    }
    const shown = new Set([...box.querySelectorAll("img")].map((img) => img.dataset.name));
    const rest = s.figures.filter((f) => !shown.has(f));
    if (rest.length) {
      const figures = el("div", { class: "figures" });
      for (const name of rest) figures.append(el("img", { src: fileUrl(id, name), alt: name, "data-name": name }));
      box.append(el("h2", { text: "Figures" }), figures);
    }
  } catch (error) {
    problem(error.message);
  }
}

const fileUrl = (id, name) => `/api/runs/file?id=${encodeURIComponent(id)}&name=${encodeURIComponent(name)}`;

// The subset of Markdown that the reports use: headings, paragraphs, fenced code, tables,
// images (a run's own files), inline code. Text is never read as HTML.
function renderMarkdown(text, id) {
  const out = [], lines = text.split("\n");
  let i = 0;
  const inline = (s) => {
    const node = el("span");
    const parts = s.split(/(`[^`]*`|!\[[^\]]*\]\([^)]*\))/);
    for (const part of parts) {
      const image = part.match(/^!\[([^\]]*)\]\(([^)]*)\)$/);
      if (part.startsWith("`") && part.endsWith("`") && part.length > 1) node.append(el("code", { text: part.slice(1, -1) }));
      else if (image) node.append(el("img", { src: fileUrl(id, image[2]), alt: image[1], "data-name": image[2] }));
      else node.append(document.createTextNode(part));
    }
    return node;
  };
  while (i < lines.length) {
    const line = lines[i];
    if (line.startsWith("```")) {
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) code.push(lines[i]);
      out.push(el("pre", { text: code.join("\n") }));
      i++;
    } else if (/^#{1,6} /.test(line)) {
      const level = Math.min(line.indexOf(" "), 3);
      out.push(el(`h${level}`, {}, inline(line.slice(line.indexOf(" ") + 1))));
      i++;
    } else if (line.startsWith("|")) {
      const table = el("table");
      for (; i < lines.length && lines[i].startsWith("|"); i++) {
        const cells = lines[i].split("|").slice(1, -1).map((c) => c.trim());
        if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
        table.append(el("tr", {}, ...cells.map((c) => el("td", {}, inline(c)))));
      }
      out.push(table);
    } else if (line.trim() === "") {
      i++;
    } else {
      const para = [];
      for (; i < lines.length && lines[i].trim() !== "" && !/^(#|```|\|)/.test(lines[i]); i++) para.push(lines[i]);
      const p = el("p", {}, inline(para.join(" ")));
      const figuresOnly = p.querySelectorAll("img").length && !p.textContent.trim();
      const previous = out[out.length - 1];
      if (figuresOnly && previous && previous.classList.contains("figures")) {
        previous.append(...p.querySelectorAll("img")); // figures side by side
      } else {
        if (figuresOnly) p.className = "figures";
        out.push(p);
      }
    }
  }
  return out;
}

// --- start ------------------------------------------------------------------------------

clearCanvas();
showTab();
loadSettings().then(checkTraining).catch((error) => problem(error.message));
