// Billing: Contracts.GetStatement for a provider and month (one statement per consumer, or one
// consumer's): line items per contract and price component, totals per currency, the records
// flagged as violations (listed, never billed), and revenue per product and per consumer.
import {call} from '../api.js';
import {barChart, tally} from '../charts.js';
import {members} from '../lookups.js';
import {el, empty, facts, field, figure, fmtInt, fmtMoney, link, load, num, queryPage, table} from '../ui.js';

function thisMonth() {
  return new Date().toISOString().slice(0, 7);
}

// The provider to show when none is chosen: the member itself if it provides, else the first
// provider of the data space (auditors read every statement).
async function defaultProvider(session) {
  if ((session.roles || []).includes('provider')) return session.member;
  try {
    const p = (await members()).find((m) => (m.roles || []).includes('provider'));
    return p ? p.id : '';
  } catch {
    return '';
  }
}

// Sums minor units exactly per currency: [{currency, amount (string)}].
function sumByCurrency(items) {
  const m = new Map();
  for (const {currency, amount} of items)
    m.set(currency, (m.get(currency) || 0n) + BigInt(amount || 0));
  return [...m.entries()].map(([currency, amount]) => ({currency, amount: amount.toString()}));
}

const major = (minor) => num(minor) / 100;
const money2 = (v) =>
    v.toLocaleString('en-US', {minimumFractionDigits: 0, maximumFractionDigits: 2});

export async function render(root, ctx) {
  const q = ctx.query;
  const provider = q.get('provider') || (await defaultProvider(ctx.session));
  if (!ctx.alive()) return;
  const period = q.get('period') || thisMonth();
  const consumer = q.get('consumer') || '';
  const {results} = queryPage(root, ctx, 'billing', {
    title: 'Billing',
    intro: 'Statements are computed by the node from the usage records of the month (block ' +
        'time, UTC) and the agreed prices; amounts are exact minor units.',
    controls: [
      field(
          'Provider',
          el('input#billing-provider',
             {name: 'provider', list: 'dl-providers', value: provider, required: true})),
      field('Consumer', el('input#billing-consumer', {
              name: 'consumer',
              list: 'dl-consumers',
              value: consumer,
              placeholder: 'all consumers'
            })),
      field(
          'Period (UTC month)',
          el('input#billing-period',
             {type: 'month', name: 'period', value: period, required: true})),
      el('button.primary', {type: 'submit'}, 'Show statement'),
    ],
  });
  if (!provider) {
    results.append(empty('Choose a provider to see its statements.'));
    return;
  }
  const r = await load(
      ctx, results, 'Computing the statement',
      () => call('Contracts.GetStatement', {provider, consumer, period}));
  if (!r) return;
  const statements = r.statements || [];
  const lines =
      statements.flatMap((s) => (s.lines || []).map((l) => ({...l, consumer: s.consumer})));
  const totals = sumByCurrency(statements.flatMap((s) => s.totals || []));
  const records = statements.reduce((a, s) => a + num(s.records), 0);
  const flagged = statements.reduce((a, s) => a + (s.violation_indices || []).length, 0);

  results.append(
      el(
          'section.card#billing-summary',
          el('h2', `${provider} — ${period}`),
          el(
              'div.figures',
              figure(
                  'Total',
                  totals.length ? totals.map((t) => fmtMoney(t.amount, t.currency)).join(' + ') :
                                  '0.00',
                  'billable usage only', 'billing-total'),
              figure(
                  'Statements', fmtInt(statements.length),
                  consumer ? `consumer ${consumer}` : 'one per consumer'),
              figure('Usage records', fmtInt(records)),
              figure('Violations', fmtInt(flagged), 'listed, not billed'),
              figure('Line items', fmtInt(lines.length)),
              ),
          ),
  );
  if (!statements.length || (!lines.length && !records)) {
    results.append(empty(`No usage to bill for ${provider} in ${period}${
        consumer ? ` with consumer ${consumer}` : ''}. Pick another month.`));
    if (!statements.length) return;
  }

  // Revenue charts in the currency with the most lines (mixed currencies are not added up).
  const currency = tally(lines, (l) => l.currency)[0]?.label;
  if (currency) {
    const inCur = lines.filter((l) => l.currency === currency);
    const revenueBy = (what, key) => barChart({
      id: `chart-revenue-by-${what}`,
      title: `Revenue per ${what}, ${currency} (${period})`,
      data: tally(inCur, key, (l) => major(l.amount)),
      yLabel: currency,
      fractional: true,
      format: money2,
    });
    results.append(
        el('div.charts', revenueBy('product', (l) => l.product_id),
           revenueBy('consumer', (l) => l.consumer)));
  }

  for (const s of statements) {
    results.append(
        el(
            'section.card.statement',
            {dataset: {consumer: s.consumer}},
            el('h3', `${s.provider} → ${s.consumer}, ${s.period}`),
            facts([
              ['Usage records', fmtInt(s.records)],
              [
                'Violations (not billed)',
                (s.violation_indices || []).length ?
                    [
                      `${(s.violation_indices || []).length} at log index ${
                          (s.violation_indices || []).join(', ')} — `,
                      link(
                          ctx.href('violations', [], {provider: s.provider, consumer: s.consumer}),
                          'see violations'),
                    ] :
                    'none',
              ],
            ]),
            (s.lines || []).length ?
                table(
                    [
                      {
                        label: 'Contract',
                        cell: (l) =>
                            link(ctx.href('contracts', [l.contract_id]), l.contract_id, 'mono')
                      },
                      {label: 'Product', cell: (l) => l.product_id},
                      {label: 'Component', cell: (l) => l.component.replace(/_/g, ' ')},
                      {label: 'Quantity', cell: (l) => fmtInt(l.quantity), class: 'num'},
                      {
                        label: 'Unit price',
                        cell: (l) => (num(l.unit_price) ? fmtMoney(l.unit_price, l.currency) : '—'),
                        class: 'num'
                      },
                      {label: 'Amount', cell: (l) => fmtMoney(l.amount, l.currency), class: 'num'},
                    ],
                    s.lines,
                    {rowClass: 'statement-line'},
                    ) :
                empty('No billable lines.'),
            el(
                'p.totals',
                'Total: ',
                (s.totals || []).length ?
                    (s.totals || [])
                        .map(
                            (t) =>
                                el('strong.statement-total',
                                   {dataset: {currency: t.currency, amount: t.amount}},
                                   fmtMoney(t.amount, t.currency))) :
                    el('strong.statement-total', '0.00'),
                ),
            ),
    );
  }
}
