// Contracts: the list (Contracts.ListContracts) with state, party and product filters; a
// contract's detail (Contracts.GetContract): its terms, usage counters and the negotiation
// history (request, counter, accept, ... each with its transaction's receipt) and its quota
// reservations (Audit.ListReservations).
import {call} from '../api.js';
import {CONTRACT_STATES} from '../lookups.js';
import {decodeTerms, renderTerms} from '../terms.js';
import {b64hex, badge, countLine, el, empty, errorBanner, facts, field, fmtInt, fmtTime} from '../ui.js';
import {link, load, pagedList, queryPage, select, short, table} from '../ui.js';

const PAGE_LIMIT = 100;

export function stateBadge(state) {
  const kind = {
    ACTIVE: 'good',
    REQUESTED: 'info',
    COUNTERED: 'info',
    SUSPENDED: 'warn',
    REJECTED: 'bad',
    TERMINATED: 'bad',
    EXPIRED: 'bad'
  }[state] ||
      'muted';
  return badge(String(state || '').toLowerCase(), kind);
}

export async function render(root, ctx) {
  if (ctx.args[0]) return renderContract(root, ctx, ctx.args[0]);
  return renderList(root, ctx);
}

async function renderList(root, ctx) {
  const q = ctx.query;
  const {form, results} = queryPage(root, ctx, 'contracts', {
    title: 'Contracts',
    controls: [
      field(
          'State',
          select(
              'state', [['', 'any'], ...CONTRACT_STATES.map((s) => [s, s.toLowerCase()])],
              q.get('state') || '', {id: 'contracts-state'})),
      field('Party', el('input', {
              name: 'party',
              list: 'dl-members',
              value: q.get('party') || '',
              placeholder: 'provider or consumer'
            })),
      field(
          'Product',
          el('input', {name: 'product_id', list: 'dl-products', value: q.get('product_id') || ''})),
      el('button.primary', {type: 'submit'}, 'Filter'),
    ],
  });
  // Changing the state applies at once: it is the filter people flip through.
  form.elements.state.addEventListener('change', () => form.requestSubmit());

  const req = {
    state: q.get('state') || 'CONTRACT_STATE_UNSPECIFIED',
    party: q.get('party') || '',
    product_id: q.get('product_id') || '',
  };
  const show = (rows, r) =>
      [countLine('p.summary#contracts-count', rows.length, 'contract', r.next_cursor),
       rows.length ?
           table(
               [
                 {
                   label: 'Contract',
                   cell: (c) => link(ctx.href('contracts', [c.id]), c.id, 'contract-link mono')
                 },
                 {
                   label: 'Product',
                   cell: (c) =>
                       [link(ctx.href('catalog', [c.product_id]), c.product_id),
                        ` v${c.product_version}`]
                 },
                 {label: 'Provider', cell: (c) => c.provider},
                 {label: 'Consumer', cell: (c) => c.consumer},
                 {label: 'State', cell: (c) => stateBadge(c.state)},
                 {label: 'Round', cell: (c) => String(c.round), class: 'num'},
                 {
                   label: 'Active since',
                   cell: (c) => (Number(c.activated_ms) ? fmtTime(c.activated_ms) : '')
                 },
               ],
               rows,
               {
                 id: 'contracts-list',
                 rowClass: 'contract-row',
                 rowData: (c) => ({contract: c.id, state: c.state})
               },
               ) :
           empty('No contracts match these filters.'),
  ];
  await pagedList(ctx, results, {
    what: 'Loading contracts',
    fetch: (cursor) => call('Contracts.ListContracts', {...req, page: {limit: PAGE_LIMIT, cursor}}),
    items: (r) => r.contracts || [],
    show,
    moreId: 'contracts-more',
  });
}

async function renderContract(root, ctx, id) {
  root.append(
      el('p.crumbs', link(ctx.href('contracts'), '← Contracts')),
      el('h1', 'Contract ', el('code', id)));
  const r = await load(
      ctx, root, 'Loading the contract', () => call('Contracts.GetContract', {contract_id: id}));
  if (!r) return;
  const c = r.contract || {};
  const n = r.counters || {};
  let termsView;
  try {
    termsView = renderTerms(decodeTerms(c.terms));
  } catch (e) {
    termsView = errorBanner(
        {message: `the contract's terms bytes do not decode as tds.Terms: ${e.message}`});
  }
  const digest = b64hex(c.terms_digest);
  const agreed = c.state === 'ACTIVE' || c.state === 'SUSPENDED' || c.state === 'EXPIRED' ||
      c.state === 'TERMINATED';
  root.append(
      el(
          'section.card#contract-detail',
          {dataset: {contract: c.id, state: c.state}},
          el('h2', `${c.product_id} v${c.product_version}: ${c.provider} → ${c.consumer} `,
             stateBadge(c.state)),
          facts([
            [
              'Product',
              link(
                  ctx.href('catalog', [c.product_id]),
                  `${c.product_id} (version ${c.product_version})`)
            ],
            ['Provider', c.provider],
            ['Consumer', c.consumer],
            ['State', c.state],
            ['Negotiation round', String(c.round)],
            ['Current proposal by', c.proposed_by],
            ['Terms digest', el('code', {title: digest}, short(digest, 24))],
            [
              'Active since',
              Number(c.activated_ms) ?
                  `height ${fmtInt(c.activated_height)}, ${fmtTime(c.activated_ms)}` :
                  'never activated'
            ],
            c.end_reason ? ['End reason', c.end_reason] : null,
            ['Calls recorded', fmtInt(n.calls_total)],
            ['Open reservations', fmtInt(n.reserved_open)],
            ['Rows released', fmtInt(n.rows_total)],
          ]),
          el(
              'p.links',
              link(
                  ctx.href('usage', [], {contract_id: c.id}), 'Usage records of this contract',
                  'usage-link'),
              link(ctx.href('violations', [], {contract_id: c.id}), 'Violations'),
              link(
                  ctx.href('billing', [], {provider: c.provider, consumer: c.consumer}),
                  'Billing statement'),
              ),
          ),
      el('h2', agreed ? 'Agreed terms' : 'Terms under negotiation'),
      termsView,
      el('h2', 'Negotiation history'),
  );
  const hist = c.history || [];
  root.append(hist.length ? historyTable(ctx, hist) : empty('No negotiation events recorded.'));
  root.append(el('h2', 'Quota reservations'));
  const sec = root.appendChild(el('section#contract-reservations'));
  await pagedList(ctx, sec, {
    what: 'Loading the reservations',
    fetch: (cursor) =>
        call('Audit.ListReservations', {contract_id: id, page: {limit: PAGE_LIMIT, cursor}}),
    items: (r) => r.reservations || [],
    show: (rows, r) => rows.length ?
        [
          countLine('p.count', rows.length, 'reservation', !!r.next_cursor), reservationTable(rows)
        ] :
        empty(
            'No reservations: strict contracts reserve quota before each call; this one has ' +
            'none recorded.'),
    moreId: 'reservations-more',
  });
}

// One row per reservation: a strict call's quota held from `created_height`, consumed by the
// usage record at `consumed_index`, or released when it expired.
function reservationTable(rows) {
  const kind = {
    RESERVATION_OPEN: 'info',
    RESERVATION_CONSUMED: 'good',
    RESERVATION_EXPIRED: 'warn'
  };
  return table(
      [
        {
          label: 'Reservation (request digest)',
          cell: (x) => el('code', {title: x.id}, short(x.id, 16))
        },
        {
          label: 'State',
          cell: (x) => badge(x.state.replace('RESERVATION_', '').toLowerCase(), kind[x.state]),
        },
        {label: 'Reserved at height', cell: (x) => fmtInt(x.created_height), class: 'num'},
        {label: 'Expires at height', cell: (x) => fmtInt(x.expires_height), class: 'num'},
        {
          label: 'Consumed by record',
          cell: (x) => x.state === 'RESERVATION_CONSUMED' ? `#${fmtInt(x.consumed_index)}` : '—',
          class: 'num',
        },
      ],
      // The node pages them in id (digest) order; reading them is easier in time order.
      [...rows].sort((a, b) => Number(a.created_height) - Number(b.created_height)),
      {id: 'reservations-list', rowClass: 'reservation-row', rowData: (x) => ({state: x.state})});
}

function historyTable(ctx, hist) {
  return table(
      [
        {label: '#', cell: (h) => String(h.i), class: 'num'},
        {label: 'Event', cell: (h) => el('strong', h.event)},
        {label: 'By', cell: (h) => h.by},
        {
          label: 'State',
          cell: (h) =>
              [stateBadge(h.from === 'CONTRACT_STATE_UNSPECIFIED' ? 'new' : h.from), ' → ',
               stateBadge(h.to)]
        },
        {label: 'Height', cell: (h) => fmtInt(h.height), class: 'num'},
        {label: 'Block time', cell: (h) => fmtTime(h.time_ms)},
        {
          label: 'Terms digest',
          cell: (h) =>
              el('code', {title: b64hex(h.terms_digest)}, short(b64hex(h.terms_digest), 12))
        },
        {label: 'Reason', cell: (h) => h.reason, class: 'wrap'},
        {
          label: 'Receipt',
          cell: (h) => {
            const tx = b64hex(h.txid);
            return tx ? link(ctx.href('receipt', [tx]), short(tx, 10), 'mono') : '';
          },
        },
      ],
      hist.map((h, i) => ({...h, i: i + 1})),
      {id: 'contract-history', rowClass: 'history-row', rowData: (h) => ({event: h.event})},
  );
}
