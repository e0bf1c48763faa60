// Valuation (data-asset recognition): Contracts.GetValuation for a product — the income and
// cost approaches, revenue trend and concentration, per-period figures and the method in words.
import {call} from '../api.js';
import {barChart, lineChart} from '../charts.js';
import {products} from '../lookups.js';
import {el, empty, field, figure, fmtBp, fmtInt, fmtMoney, load, num, queryPage, table} from '../ui.js';

async function defaultProduct() {
  try {
    const ps = await products();
    return ps.length ? ps[0].id : '';
  } catch {
    return '';
  }
}

export async function render(root, ctx) {
  const q = ctx.query;
  const productId = q.get('product_id') || (await defaultProduct());
  if (!ctx.alive()) return;
  const input = (name, label, attrs = {}) => field(
      label, el('input', {name, id: `valuation-${name}`, value: q.get(name) || '', ...attrs}));
  const {results} = queryPage(root, ctx, 'valuation', {
    title: 'Valuation',
    intro: 'Figures for recognising a data product as an asset, computed by the node from ' +
        'the usage, revenue and declared costs on the ledger.',
    controls: [
      input('product_id', 'Product', {list: 'dl-products', required: true, value: productId}),
      input('as_of_period', 'As of (UTC month)', {type: 'month', placeholder: 'latest'}),
      input(
          'discount_rate_bp', 'Discount rate (bp/year)',
          {type: 'number', min: 0, placeholder: '1000'}),
      input('horizon_periods', 'Horizon (months)', {type: 'number', min: 0, placeholder: '36'}),
      input('growth_bp', 'Growth (bp/month)', {type: 'number', placeholder: '0'}),
      el('button.primary', {type: 'submit'}, 'Value'),
    ],
  });
  if (!productId) {
    results.append(empty('Choose a product to value.'));
    return;
  }
  const r = await load(
      ctx, results, 'Valuing the product',
      () => call('Contracts.GetValuation', {
        product_id: productId,
        as_of_period: q.get('as_of_period') || '',
        discount_rate_bp: Number(q.get('discount_rate_bp') || 0),
        horizon_periods: Number(q.get('horizon_periods') || 0),
        growth_bp: String(Number(q.get('growth_bp') || 0)),
      }));
  if (!r) return;
  const v = r.valuation || {};
  const cur = v.currency || '';
  const periods = v.periods || [];
  results.append(
      el('h2', `${v.product_id} (${v.provider}), as of ${v.as_of_period}`),
      el(
          'div.figures#valuation-figures',
          figure(
              'Income approach', fmtMoney(v.income_value, cur),
              `${v.horizon_periods} months at ${fmtBp(v.discount_rate_bp)}/year, growth ${
                  fmtBp(v.growth_bp)}/month`),
          figure(
              'Cost approach', fmtMoney(v.cost_value, cur),
              `${(v.costs || []).length} declared cost lines`),
          figure('Trailing 12-month revenue', fmtMoney(v.trailing_revenue, cur)),
          figure('Trend', fmtBp(v.trend_bp), 'last 3 months over the 3 before'),
          figure('Distinct consumers', fmtInt(v.distinct_consumers)),
          figure('Concentration (HHI)', fmtInt(v.concentration_hhi), '0–10,000'),
          figure('Top consumer share', fmtBp(v.top_consumer_share_bp)),
          ),
  );
  if (!periods.length) {
    results.append(empty(
        'No usage recorded for this product yet: the income approach has nothing to project.'));
  } else {
    results.append(
        el(
            'div.charts',
            barChart({
              id: 'chart-valuation-revenue',
              title: `Revenue per month, ${cur}`,
              data: periods.map((p) => ({label: p.period, value: num(p.revenue) / 100})),
              yLabel: cur,
              fractional: true,
              format: (x) => x.toLocaleString('en-US', {maximumFractionDigits: 2}),
            }),
            lineChart({
              id: 'chart-valuation-calls',
              title: 'Calls per month',
              data: periods.map((p) => ({label: p.period, value: num(p.calls)})),
              yLabel: 'calls',
            }),
            ),
        table(
            [
              {label: 'Month', cell: (p) => p.period},
              {label: 'Calls', cell: (p) => fmtInt(p.calls), class: 'num'},
              {label: 'Rows', cell: (p) => fmtInt(p.rows), class: 'num'},
              {label: 'Consumers', cell: (p) => fmtInt(p.consumers), class: 'num'},
              {label: 'Revenue', cell: (p) => fmtMoney(p.revenue, cur), class: 'num'},
            ],
            periods,
            {id: 'valuation-periods', rowClass: 'valuation-period'},
            ),
    );
  }
  results.append(el('h2', 'Declared costs'));
  results.append(
      (v.costs || []).length ?
          table(
              [
                {label: 'Month', cell: (c) => c.period},
                {label: 'Category', cell: (c) => c.category},
                {label: 'Amount', cell: (c) => fmtMoney(c.amount, cur), class: 'num'},
                {label: 'Note', cell: (c) => c.note, class: 'wrap'},
              ],
              v.costs,
              {id: 'valuation-costs'},
              ) :
          empty('The provider has declared no costs for this product.'),
  );
  if ((v.method || []).length) {
    results.append(el('h2', 'Method'), el('ul.method', v.method.map((m) => el('li', m))));
  }
}
