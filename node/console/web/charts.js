// Small hand-written SVG charts: a bar chart and a line chart over labelled values, sharing
// one frame (y axis with rounded ticks, x labels thinned and slanted when crowded, axis titles,
// a "no data" state). Built with DOM APIs and SVG presentation attributes only (the console's
// CSP forbids inline styles); colours come from classes in style.css. Each mark carries a
// <title> with its exact value, shown on hover. Options: {id, title, data: [{label, value}],
// yLabel, xLabel, format (tick and value text), fractional (values are not counts), empty}.
import {el} from './ui.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 520;
const H = 260;
const M = {
  top: 14,
  right: 12,
  left: 58
};
// Bottom margin: room for slanted x labels, or for one straight line of them.
const BOTTOM_SLANT = 76;
const BOTTOM_STRAIGHT = 40;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// A "nice" axis: 0..top in steps of 1, 2 or 5 × 10^k, about `count` ticks; whole steps only
// when `integer` (counts).
export function niceTicks(max, count = 5, integer = false) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  if (integer) step = Math.max(1, step);
  const ticks = [];
  for (let v = 0; v <= max + step * 1e-9 || ticks.length < 2; v += step) ticks.push(v);
  if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

const plain = (v) =>
    (Number.isInteger(v) ? v.toLocaleString('en-US') :
                           v.toLocaleString('en-US', {maximumFractionDigits: 2}));

// Draws the frame and returns {root, plotX(i), plotY(v), band}; `data` is [{label, value}].
function frame(opts, data, kind) {
  const fmt = opts.format || plain;
  const pw = W - M.left - M.right;
  // x labels: at most ~16 shown, slanted when they would collide (they then need more room).
  const band = data.length ? pw / data.length : pw;
  const every = Math.max(1, Math.ceil(data.length / 16));
  const longest = Math.max(0, ...data.map((d) => Math.min(18, String(d.label).length)));
  const slant = longest * 7 > band * every;
  // Slanted labels are cut at 18 characters; straight ones at what their band holds.
  const maxChars = slant ? 18 : Math.max(18, Math.floor((band * every) / 7));
  const bottom = slant ? BOTTOM_SLANT : BOTTOM_STRAIGHT;
  const h = H - BOTTOM_SLANT + bottom;
  const ph = h - M.top - bottom;
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${h}`,
    class: `chart-svg chart-${kind}`,
    role: 'img',
    'aria-label': opts.title,
  });
  const max = Math.max(0, ...data.map((d) => d.value));
  const ticks = niceTicks(max, 5, !opts.fractional);
  const top = ticks[ticks.length - 1];
  const plotY = (v) => M.top + ph - (v / top) * ph;
  const plotX = (i) => M.left + band * i + band / 2;

  for (const t of ticks) {
    const y = plotY(t);
    root.append(svg('line', {x1: M.left, x2: W - M.right, y1: y, y2: y, class: 'grid'}));
    root.append(
        svg('text', {x: M.left - 6, y: y + 4, 'text-anchor': 'end', class: 'tick'}, fmt(t)));
  }
  root.append(svg('line', {x1: M.left, x2: M.left, y1: M.top, y2: M.top + ph, class: 'axis'}));
  root.append(
      svg('line', {x1: M.left, x2: W - M.right, y1: M.top + ph, y2: M.top + ph, class: 'axis'}),
  );

  data.forEach((d, i) => {
    if (i % every !== 0 && i !== data.length - 1) return;
    const x = plotX(i);
    const y = M.top + ph + 14;
    const text = String(d.label);
    const label = text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;
    root.append(
        svg(
            'text',
            {
              x,
              y,
              'text-anchor': slant ? 'end' : 'middle',
              transform: slant ? `rotate(-35 ${x} ${y})` : null,
              class: 'tick',
            },
            label,
            ),
    );
  });
  if (opts.yLabel) {
    const y = M.top + ph / 2;
    root.append(
        svg('text', {
          x: 14,
          y,
          transform: `rotate(-90 14 ${y})`,
          'text-anchor': 'middle',
          class: 'axis-title'
        },
            opts.yLabel),
    );
  }
  if (opts.xLabel) {
    root.append(
        svg('text', {x: M.left + pw / 2, y: h - 4, 'text-anchor': 'middle', class: 'axis-title'},
            opts.xLabel));
  }
  if (!data.length) {
    root.append(
        svg('text',
            {x: M.left + pw / 2, y: M.top + ph / 2, 'text-anchor': 'middle', class: 'no-data'},
            opts.empty || 'No data'),
    );
  }
  return {root, plotX, plotY, band, fmt, base: M.top + ph};
}

function figure(opts, kind, root, data) {
  return el(
      'figure.chart',
      {id: opts.id, dataset: {kind, points: data.length}},
      el('figcaption', opts.title),
      root,
  );
}

// data: [{label, value}] in display order.
export function barChart(opts) {
  const data = opts.data || [];
  const f = frame(opts, data, 'bar');
  const w = Math.max(2, Math.min(48, f.band * 0.7));
  data.forEach((d, i) => {
    const y = f.plotY(d.value);
    f.root.append(
        svg(
            'rect',
            {x: f.plotX(i) - w / 2, y, width: w, height: Math.max(0, f.base - y), class: 'bar'},
            svg('title', {}, `${d.label}: ${f.fmt(d.value)}`),
            ),
    );
  });
  return figure(opts, 'bar', f.root, data);
}

// data: [{label, value}] in x order (e.g. days ascending).
export function lineChart(opts) {
  const data = opts.data || [];
  const f = frame(opts, data, 'line');
  if (data.length) {
    const d = data.map(
        (p, i) => `${i ? 'L' : 'M'}${f.plotX(i).toFixed(1)},${f.plotY(p.value).toFixed(1)}`);
    f.root.append(svg('path', {d: d.join(' '), class: 'line', fill: 'none'}));
  }
  data.forEach((p, i) => {
    f.root.append(
        svg(
            'circle',
            {cx: f.plotX(i), cy: f.plotY(p.value), r: data.length > 60 ? 2 : 3.5, class: 'point'},
            svg('title', {}, `${p.label}: ${f.fmt(p.value)}`),
            ),
    );
  });
  return figure(opts, 'line', f.root, data);
}

// Counts or sums rows by a key: [{label, value}] sorted by value descending (ties by label).
export function tally(rows, keyOf, valueOf = () => 1) {
  const m = new Map();
  for (const r of rows) {
    const k = keyOf(r) || '(none)';
    m.set(k, (m.get(k) || 0) + valueOf(r));
  }
  return [...m.entries()]
      .map(([label, value]) => ({label, value}))
      .sort((a, b) => b.value - a.value || String(a.label).localeCompare(String(b.label)));
}

// Per-UTC-day counts from ms timestamps, with the days in between filled with 0 (a gap is a day
// without calls, not a missing point); spans longer than ~2 years keep only the days seen.
export function perDay(msList) {
  const m = new Map();
  for (const ms of msList) {
    const day = new Date(ms).toISOString().slice(0, 10);
    m.set(day, (m.get(day) || 0) + 1);
  }
  const days = [...m.keys()].sort();
  if (!days.length) return [];
  const first = Date.parse(`${days[0]}T00:00:00Z`);
  const last = Date.parse(`${days[days.length - 1]}T00:00:00Z`);
  if ((last - first) / 86400000 > 800) return days.map((d) => ({label: d, value: m.get(d)}));
  const out = [];
  for (let t = first; t <= last; t += 86400000) {
    const d = new Date(t).toISOString().slice(0, 10);
    out.push({label: d, value: m.get(d) || 0});
  }
  return out;
}
