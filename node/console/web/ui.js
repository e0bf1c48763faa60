// DOM building and formatting helpers shared by every page. The console runs under
// Content-Security-Policy default-src 'self': no inline handlers or style attributes, so all
// markup is built here with DOM APIs, listeners are attached with addEventListener and looks
// come from classes in style.css.

// el('div.card#id', {attrs...}, children...) → HTMLElement. Attribute values of null/undefined/
// false are skipped; `on` maps event names to listeners; children may be strings, nodes, arrays
// or null (skipped). Text is always set as text, never parsed as HTML.
export function el(spec, attrs, ...children) {
  const m = /^([a-z0-9-]+)?((?:[.#][\w-]+)*)$/i.exec(spec);
  if (!m) throw new Error(`el: bad spec '${spec}'`);
  const node = document.createElement(m[1] || 'div');
  for (const part of m[2].match(/[.#][\w-]+/g) || []) {
    if (part[0] === '.')
      node.classList.add(part.slice(1));
    else
      node.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    } else if (k === 'class') {
      for (const c of String(v).split(/\s+/).filter(Boolean)) node.classList.add(c);
    } else if (k === 'dataset') {
      for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = String(dv);
    } else if (k === 'value' || k === 'checked' || k === 'selected') {
      node[k] = v;
    } else {
      node.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// A table: columns [{label, cell: row => node|string, class?}], rows → <table>.
export function table(columns, rows, {id, rowClass, rowData} = {}) {
  const head = el('thead', el('tr', columns.map((c) => el('th', {class: c.class}, c.label))));
  const body = el(
      'tbody',
      rows.map(
          (r) => el(
              'tr',
              {class: rowClass, dataset: rowData ? rowData(r) : undefined},
              columns.map((c) => el('td', {class: c.class}, c.cell(r))),
              ),
          ),
  );
  return el('div.table-wrap', el('table', {id}, head, body));
}

// Status blocks. Every page shows one of these while loading, when empty and on errors.
export function loading(what = 'Loading') {
  return el('div.loading', {role: 'status'}, el('span.spinner'), `${what}…`);
}

export function empty(text) {
  return el('div.empty', text);
}

// A listing's count line, `p.summary#id` with data-count: "1 member." / "100 proposals loaded
// (more available)."
export function countLine(spec, n, noun, more = false) {
  return el(
      spec, {dataset: {count: n}},
      `${fmtInt(n)} ${noun}${n === 1 ? '' : 's'}${more ? ' loaded (more available)' : ''}.`);
}

// The server's message is shown verbatim; the gRPC-style code beside it.
export function errorBanner(err) {
  const code = err && err.code ? err.code : '';
  return el(
      'div.error-banner',
      {role: 'alert'},
      el('strong', 'Error'),
      ' ',  // text separators keep textContent readable; the flex gap spaces the parts
      code ? [el('span.error-code', code), ' '] : null,
      el('span.error-message', err && err.message ? err.message : String(err)),
  );
}

// Runs `get` (a function returning a promise, e.g. () => call(...)) with a loading indicator
// saying `what` at the end of `root`. Resolves to its result while the page is still the one
// shown (ctx.alive()); to undefined when the page was left meanwhile, or when `get` failed,
// its error then shown in `root`. Usage: `const r = await load(...); if (!r) return;`.
export async function load(ctx, root, what, get) {
  const status = root.appendChild(loading(what));
  let r;
  try {
    r = await get();
  } catch (e) {
    if (ctx.alive()) root.append(errorBanner(e));
    return undefined;
  } finally {
    status.remove();
  }
  return ctx.alive() ? r : undefined;
}

// A listing read a page at a time into `sec` (cleared on every page). `fetch(cursor, size)`
// answers one page ({..., next_cursor}; `size` undefined: the page's own size) and `items(r)`
// lists its rows; `show(rows, r)` gives what shows every row loaded so far (nodes, arrays,
// null), r being the latest answer. While next_cursor says there is more, a button `#moreId`
// follows and loads the next page ('' is the first). With `loadAll: {max, size}` a second button
// `#moreId-all` reads on, `size` rows a page, until the end or `max` rows in all — so that what
// is drawn from the rows (charts, totals) covers them — with a running count, and shows once.
// `what` (`whatNext` for later pages) labels the loading indicator.
export async function pagedList(ctx, sec, {
  what,
  whatNext = what,
  fetch,
  items,
  show,
  moreId,
  moreLabel = 'Show more',
  loadAll,
}) {
  const rows = [];
  const render = (r) => {
    append(clear(sec), [show(rows, r)]);
    if (!r.next_cursor) return;
    sec.append(el(
        `button#${moreId}`, {type: 'button', on: {click: () => more(r.next_cursor)}}, moreLabel));
    if (loadAll && rows.length < loadAll.max) {
      sec.append(
          ' ',
          el(`button#${moreId}-all`, {type: 'button', on: {click: () => all(r.next_cursor)}},
             `Load all (up to ${fmtInt(loadAll.max)})`));
    }
  };
  const more = async (cursor) => {
    const r = await load(ctx, sec, cursor ? whatNext : what, () => fetch(cursor));
    if (!r) return;
    rows.push(...items(r));
    render(r);
  };
  const all = async (cursor) => {
    for (const b of sec.querySelectorAll('button')) b.disabled = true;
    let r;
    do {
      r = await load(
          ctx, sec, `${whatNext}: ${fmtInt(rows.length)} loaded so far`,
          () => fetch(cursor, Math.min(loadAll.size, loadAll.max - rows.length)));
      if (!r) return;
      rows.push(...items(r));
      cursor = r.next_cursor;
    } while (cursor && rows.length < loadAll.max);
    render(r);
  };
  await more('');
}

// Key/value grid for an object's figures.
export function facts(pairs, cls = 'facts') {
  return el(
      'dl',
      {class: cls},
      pairs.filter((p) => p).map(
          ([k, v]) => [el('dt', k), el('dd', v === '' || v === undefined || v === null ? '—' : v)]),
  );
}

// A headline figure (label, big value, optional hint); `id` lets tests find one.
export function figure(label, value, hint, id) {
  return el(
      'div.figure',
      {id},
      el('span.figure-label', label),
      el('span.figure-value', value),
      hint ? el('span.hint', hint) : null,
  );
}

export function link(href, text, cls) {
  return el('a', {href, class: cls}, text);
}

export function badge(text, kind) {
  return el('span', {class: `badge ${kind ? 'badge-' + kind : ''}`}, text);
}

// ---- encodings -----------------------------------------------------------------------------

export function base64ToBytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// proto3 JSON prints bytes as base64; ids such as txids are shown and routed as hex.
export function b64hex(b64) {
  if (!b64) return '';
  try {
    return bytesToHex(base64ToBytes(b64));
  } catch {
    return '';
  }
}

export async function sha256Hex(text) {
  const data = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  return bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', data)));
}

export function short(hex, n = 12) {
  return hex && hex.length > n ? `${hex.slice(0, n)}…` : hex || '';
}

// ---- numbers, money, time ------------------------------------------------------------------

// int64/uint64 arrive as decimal strings; counts fit a double for display.
export function num(v) {
  if (v === undefined || v === null || v === '') return 0;
  return Number(v);
}

export function fmtInt(v) {
  return num(v).toLocaleString('en-US');
}

// Money is integer minor units (fen for CNY): shown with two decimals, exactly (BigInt, no
// floating-point rounding), e.g. "-1234" → "-12.34".
export function fmtMoney(minor, currency) {
  let s = String(minor ?? '0');
  if (!/^-?\d+$/.test(s)) return `${s} ${currency || ''}`.trim();
  let v = BigInt(s);
  const neg = v < 0n;
  if (neg) v = -v;
  const whole = (v / 100n).toLocaleString('en-US');
  const frac = (v % 100n).toString().padStart(2, '0');
  return `${neg ? '-' : ''}${whole}.${frac}${currency ? ' ' + currency : ''}`;
}

// Basis points → percent, e.g. 1250 → "12.50%".
export function fmtBp(bp) {
  return `${(num(bp) / 100).toFixed(2)}%`;
}

// Block times are UTC (billing periods and daily quotas are UTC days): always shown in UTC.
export function fmtTime(ms) {
  const n = num(ms);
  if (!n) return '';
  return new Date(n).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function dayOf(ms) {
  return new Date(num(ms)).toISOString().slice(0, 10);
}

// <input type=date> value (UTC day) → block-time bound in ms; `end` gives the exclusive end of
// that day.
export function dayToMs(value, end = false) {
  if (!value) return 0;
  const ms = Date.parse(`${value}T00:00:00Z`);
  if (Number.isNaN(ms)) return 0;
  return end ? ms + 86400000 : ms;
}

// ---- downloads -----------------------------------------------------------------------------

export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], {type}));
  const a = el('a', {href: url, download: filename, class: 'hidden'});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function toCsv(header, rows) {
  const cell = (v) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

// ---- forms ---------------------------------------------------------------------------------

// A labelled form field. `input` is the control element; its name becomes the label's target.
export function field(label, input, hint) {
  return el(
      'label.field', el('span.field-label', label), input, hint ? el('span.hint', hint) : null);
}

export function select(name, options, value, attrs = {}) {
  return el(
      'select',
      {name, id: attrs.id, class: attrs.class},
      options.map((o) => {
        const [v, text] = Array.isArray(o) ? o : [o, o];
        return el('option', {value: v, selected: v === value}, text);
      }),
  );
}

// Reads a form's named controls into a plain object of trimmed strings / booleans.
export function formValues(form) {
  const out = {};
  for (const c of form.elements) {
    if (!c.name) continue;
    out[c.name] = c.type === 'checkbox' ? c.checked : c.value.trim();
  }
  return out;
}

// A page of query results: its title, an intro (optional), the filter form `#<page>-form` of
// `controls` and the section `#<page>-results` the answer goes in; returns {form, results}. The
// form's values are the page's state: submitting it goes to `#/<page>?name=value...` (a ticked
// checkbox as '1', empty values left out), so every view can be linked to and the back button
// works.
export function queryPage(root, ctx, page, {title, intro, controls}) {
  const form = el(`form.filters#${page}-form`, controls);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const query = {};
    for (const [k, v] of Object.entries(formValues(form))) query[k] = v === true ? '1' : v;
    ctx.go(ctx.href(page, [], query));
  });
  const results = el(`section#${page}-results`);
  append(root, [el('h1', title), intro ? el('p.intro', intro) : null, form, results]);
  return {form, results};
}
