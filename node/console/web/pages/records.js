// Usage records, shared by the usage explorer (Audit.ListUsage) and the violations page
// (Audit.ListViolations): one filter form, one paged table whose rows link to their receipts,
// charts over the loaded records and CSV/JSON export of them. Both listings answer
// ListUsageResponse {items: [{record: UsageRecordState}], next_cursor}, oldest first.
import {call} from '../api.js';
import {barChart, lineChart, perDay, tally} from '../charts.js';
import {OPERATIONS, PURPOSES, VIOLATION_TERMS} from '../lookups.js';
import {b64hex, badge, dayToMs, download, el, empty, field, fmtInt, fmtTime} from '../ui.js';
import {link, num, pagedList, queryPage, select, short, table, toCsv} from '../ui.js';

// Rows per page: the `limit` of the URL (1..1000, the server's bound), else 100.
const PAGE_SIZES = ['25', '100', '500', '1000'];
function pageLimit(q) {
  const n = Number(q.get('limit'));
  return Number.isInteger(n) && n >= 1 && n <= 1000 ? n : 100;
}
// "Load all" stops here: the charts and exports then cover this many records at most.
const LOAD_ALL_MAX = 10000;

// kind: 'usage' | 'violations'.
const KINDS = {
  usage: {
    title: 'Usage explorer',
    method: 'Audit.ListUsage',
    intro: 'Every call under a contract is a usage record on the ledger. Filter, page ' +
        'through, chart and export them; each row links to the receipt that proves it.',
    noun: 'record',
    emptyText: 'No usage records match these filters.',
  },
  violations: {
    title: 'Violations',
    method: 'Audit.ListViolations',
    intro: 'Usage records the validators flagged because they broke a term of their ' +
        'contract. They are listed on statements but never billed.',
    noun: 'violation',
    emptyText: 'No violations match these filters.',
  },
};

// The filter form's controls.
function filterControls(kind, q, ctx) {
  const id = (name) => `${kind}-f-${name}`;
  const input = (name, label, attrs) =>
      field(label, el('input', {name, id: id(name), value: q.get(name) || '', ...attrs}));
  // A value from the URL that the list lacks (a newer operation, say) stays selectable.
  const choice = (name, label, values) => {
    const v = q.get(name) || '';
    const all = v && !values.includes(v) ? [...values, v] : values;
    return field(label, select(name, [['', 'any'], ...all], v, {id: id(name)}));
  };
  const checkbox = (name, label) =>
      el('label.check-field',
         el('input', {type: 'checkbox', name, id: id(name), checked: q.get(name) === '1'}), label);
  return [
    input('from', 'From (UTC day)', {type: 'date'}),
    input('to', 'To (UTC day, inclusive)', {type: 'date'}),
    input('product_id', 'Product', {list: 'dl-products'}),
    input('provider', 'Provider', {list: 'dl-providers'}),
    input('consumer', 'Consumer', {list: 'dl-consumers'}),
    choice('purpose', 'Purpose', PURPOSES),
    choice('operation', 'Operation', OPERATIONS),
    input('contract_id', 'Contract'),
    field(
        'Rows per page',
        select(
            'limit',
            PAGE_SIZES.includes(String(pageLimit(q))) ? PAGE_SIZES :
                                                        [...PAGE_SIZES, String(pageLimit(q))],
            String(pageLimit(q)), {id: id('limit')})),
    kind === 'violations' ? choice('term', 'Violated term', VIOLATION_TERMS) :
                            checkbox('violations_only', 'violations only'),
    el('div.form-actions', el('button.primary', {type: 'submit'}, 'Apply'),
       el('a.button', {href: ctx.href(kind)}, 'Clear')),
  ];
}

function requestOf(kind, q) {
  const req = {
    contract_id: q.get('contract_id') || '',
    product_id: q.get('product_id') || '',
    provider: q.get('provider') || '',
    consumer: q.get('consumer') || '',
    purpose: q.get('purpose') || '',
    operation: q.get('operation') || '',
    from_ms: String(dayToMs(q.get('from'))),
    to_ms: String(dayToMs(q.get('to'), true)),
  };
  if (kind === 'violations')
    req.term = q.get('term') || '';
  else
    req.violations_only = q.get('violations_only') === '1';
  return req;
}

function reasons(rec) {
  return (rec.violations || []).map((v) => `${v.term}: ${v.detail}`);
}

const CSV_HEADER = [
  'index',
  'txid',
  'block_time_utc',
  'height',
  'period',
  'contract_id',
  'product_id',
  'provider',
  'consumer',
  'operation',
  'purpose',
  'columns',
  'rows_in',
  'rows_out',
  'bytes_in',
  'bytes_out',
  'compute_ms',
  'violations',
];

function csvRow(r) {
  const m = r.measurement || {};
  return [
    r.index,
    b64hex(r.txid),
    fmtTime(r.block_time_ms),
    r.height,
    r.period,
    r.contract_id,
    r.product_id,
    r.provider,
    r.consumer,
    r.operation,
    r.purpose,
    (r.columns || []).join(';'),
    m.rows_in,
    m.rows_out,
    m.bytes_in,
    m.bytes_out,
    m.compute_ms,
    reasons(r).join('; '),
  ];
}

export async function renderRecords(root, ctx, kind) {
  const K = KINDS[kind];
  const q = ctx.query;
  const {results} = queryPage(
      root, ctx, kind, {title: K.title, intro: K.intro, controls: filterControls(kind, q, ctx)});

  const req = requestOf(kind, q);
  const filters = Object.entries(req).filter(([k, v]) => v && v !== '0' && k !== 'page');
  const limit = pageLimit(q);
  const show = (records, {next_cursor: more}) =>
      [el(
           `p.summary#${kind}-count`,
           {dataset: {count: records.length, more: more ? '1' : '0'}},
           `${fmtInt(records.length)} ${K.noun}${records.length === 1 ? '' : 's'} loaded${
               more ? ' — more available' : ' (all that match)'}`,
           filters.length ? `; filters: ${filters.map(([k, v]) => `${k}=${v}`).join(', ')}` : '',
           '.',
           ),
       records.length ?
           [
             el(
                 'div.toolbar',
                 el('button#' + kind + '-export-csv',
                    {type: 'button', on: {click: () => exportCsv(kind, records)}}, 'Export CSV'),
                 el('button#' + kind + '-export-json',
                    {type: 'button', on: {click: () => exportJson(kind, req, records)}},
                    'Export JSON'),
                 el('span.hint', `exports the ${fmtInt(records.length)} loaded ${K.noun}s`),
                 ),
             charts(kind, records),
             recordTable(kind, records, ctx),
           ] :
           empty(K.emptyText),
  ];
  await pagedList(ctx, results, {
    what: 'Loading records',
    whatNext: 'Loading the next page',
    fetch: (cursor, size = limit) => call(K.method, {...req, page: {limit: size, cursor}}),
    items: (r) => (r.items || []).map((it) => it.record).filter(Boolean),
    show,
    moreId: `${kind}-more`,
    moreLabel: `Load next ${fmtInt(limit)}`,
    // Charts and exports cover what is loaded: this loads up to LOAD_ALL_MAX for them.
    loadAll: {max: LOAD_ALL_MAX, size: 1000},
  });
}

function charts(kind, records) {
  const days = perDay(records.map((r) => num(r.block_time_ms)));
  const note = `over the ${fmtInt(records.length)} loaded`;
  if (kind === 'violations') {
    return el(
        'div.charts',
        barChart({
          id: 'chart-by-term',
          title: `Violations by term (${note})`,
          data: tally(records.flatMap((r) => (r.violations || []).map((v) => v.term)), (t) => t),
          yLabel: 'violations',
        }),
        lineChart({
          id: 'chart-per-day',
          title: `Violations per day, UTC (${note})`,
          data: days,
          yLabel: 'violations'
        }),
    );
  }
  return el(
      'div.charts',
      lineChart({
        id: 'chart-per-day',
        title: `Calls per day, UTC (${note})`,
        data: days,
        yLabel: 'calls'
      }),
      barChart({
        id: 'chart-by-purpose',
        title: `Calls by purpose (${note})`,
        data: tally(records, (r) => r.purpose),
        yLabel: 'calls'
      }),
      barChart({
        id: 'chart-by-operation',
        title: `Calls by operation (${note})`,
        data: tally(records, (r) => r.operation),
        yLabel: 'calls'
      }),
  );
}

function recordTable(kind, records, ctx) {
  const cols = [
    {
      // The record's log index, linking to the receipt that proves it (by its txid).
      label: 'Log index / receipt',
      class: 'num',
      cell: (r) => {
        const tx = b64hex(r.txid);
        if (!tx) return r.index;
        return el(
            'a.receipt-link', {href: ctx.href('receipt', [tx]), title: `receipt of ${tx}`},
            `#${r.index}`);
      },
    },
    {label: 'Block time', cell: (r) => fmtTime(r.block_time_ms)},
    {
      label: 'Contract',
      cell: (r) => link(ctx.href('contracts', [r.contract_id]), short(r.contract_id, 14), 'mono')
    },
    {label: 'Product', cell: (r) => r.product_id},
    {label: 'Provider', cell: (r) => r.provider},
    {label: 'Consumer', cell: (r) => r.consumer},
    {label: 'Operation', cell: (r) => r.operation, class: 'cell-operation'},
    {label: 'Purpose', cell: (r) => r.purpose, class: 'cell-purpose'},
    {label: 'Rows out', cell: (r) => fmtInt((r.measurement || {}).rows_out), class: 'num'},
    {label: 'Compute ms', cell: (r) => fmtInt((r.measurement || {}).compute_ms), class: 'num'},
  ];
  if (kind === 'violations') {
    cols.push({
      label: 'Reasons',
      class: 'wrap',
      cell: (r) =>
          el('ul.plain',
             (r.violations || [])
                 .map(
                     (v) =>
                         el('li.violation-reason', {dataset: {term: v.term}}, el('strong', v.term),
                            `: ${v.detail}`))),
    });
  } else {
    // Early in the row: the flag is what an auditor scans for, on any screen width.
    cols.splice(2, 0, {
      label: 'Violations',
      cell: (r) => (
          (r.violations || []).length ? (r.violations || []).map((v) => badge(v.term, 'bad')) : ''),
    });
  }
  return table(cols, records, {
    id: `${kind}-table`,
    rowClass: kind === 'violations' ? 'violation-row' : 'usage-row',
    rowData: (r) => ({
      index: r.index,
      txid: b64hex(r.txid),
      purpose: r.purpose,
      operation: r.operation,
      product: r.product_id,
      period: r.period,
      provider: r.provider
    }),
  });
}

function stamp() {
  return new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
}

function exportCsv(kind, records) {
  download(`tds-${kind}-${stamp()}.csv`, toCsv(CSV_HEADER, records.map(csvRow)), 'text/csv');
}

// The records exactly as the node answered (proto3 JSON: bytes base64, 64-bit integers as
// strings) with the filters that selected them.
function exportJson(kind, req, records) {
  const doc =
      {exported_at: new Date().toISOString(), listing: KINDS[kind].method, filters: req, records};
  download(`tds-${kind}-${stamp()}.json`, JSON.stringify(doc, null, 2) + '\n', 'application/json');
}
