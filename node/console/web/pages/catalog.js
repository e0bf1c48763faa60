// Catalog browser: search (Catalog.SearchProducts), product detail (Catalog.GetProduct) with
// its version history (Catalog.ProductHistory).
import {call} from '../api.js';
import {OPERATIONS} from '../lookups.js';
import {renderTerms} from '../terms.js';
import {badge, el, empty, facts, field, fmtInt, fmtTime, link, load, pagedList, queryPage, select, table} from '../ui.js';

const PAGE_LIMIT = 50;

export async function render(root, ctx) {
  if (ctx.args[0]) return renderProduct(root, ctx, ctx.args[0]);
  return renderSearch(root, ctx);
}

function levelBadge(level) {
  return badge(`L${level}`, Number(level) >= 4 ? 'warn' : 'muted');
}

async function renderSearch(root, ctx) {
  const q = ctx.query;
  const {results} = queryPage(root, ctx, 'catalog', {
    title: 'Catalog',
    controls: [
      field(
          'Search',
          el('input#catalog-search', {
            name: 'text',
            type: 'search',
            value: q.get('text') || '',
            placeholder: 'words in title, description, tags',
          }),
          ),
      field(
          'Provider',
          el('input', {name: 'provider', list: 'dl-providers', value: q.get('provider') || ''})),
      field(
          'Operation', select('operation', [['', 'any'], ...OPERATIONS], q.get('operation') || '')),
      field(
          'Max level',
          select('max_level', [['', 'any'], '1', '2', '3', '4', '5'], q.get('max_level') || ''),
          ),
      el(
          'label.check-field',
          el('input', {
            type: 'checkbox',
            name: 'include_retired',
            checked: q.get('include_retired') === '1'
          }),
          'include retired',
          ),
      el('button.primary', {type: 'submit'}, 'Search'),
    ],
  });

  const req = {
    text: q.get('text') || '',
    provider: q.get('provider') || '',
    operation: q.get('operation') || '',
    max_level: Number(q.get('max_level') || 0),
    include_retired: q.get('include_retired') === '1',
  };
  const show = (rows, {total}) =>
      [el('p.summary#catalog-count', {dataset: {count: rows.length}},
          `${fmtInt(total)} product${Number(total) === 1 ? '' : 's'} match; ${
              fmtInt(rows.length)} shown.`),
       rows.length ?
           table(
               [
                 {
                   label: 'Product',
                   cell: (p) => link(ctx.href('catalog', [p.id]), p.id, 'product-link')
                 },
                 {label: 'Title', cell: (p) => p.title},
                 {label: 'Provider', cell: (p) => p.provider},
                 {label: 'Level', cell: (p) => levelBadge(p.level)},
                 {label: 'Version', cell: (p) => String(p.version), class: 'num'},
                 {label: 'Operations', cell: (p) => (p.operations || []).join(', ')},
                 {label: 'Tags', cell: (p) => (p.tags || []).map((t) => badge(t, 'tag'))},
                 {label: '', cell: (p) => (p.retired ? badge('retired', 'bad') : '')},
               ],
               rows,
               {id: 'catalog-list', rowClass: 'product-row', rowData: (p) => ({product: p.id})},
               ) :
           empty(
               'No products match. Clear the search words or filters, or tick “include retired”.'),
  ];
  await pagedList(ctx, results, {
    what: 'Searching the catalog',
    fetch: (cursor) => call('Catalog.SearchProducts', {...req, page: {limit: PAGE_LIMIT, cursor}}),
    items: (r) => r.products || [],
    show,
    moreId: 'catalog-more',
  });
}

// Fields that make a version differ from the one before (the ledger sets version and
// published_*).
const VERSIONED = [
  'title',
  'description',
  'tags',
  'schema',
  'level',
  'operations',
  'offer',
  'row_count',
  'update_cadence',
  'enclave_measurements',
  'allow_list',
];

function changes(prev, cur) {
  if (!prev) return 'published';
  const changed = VERSIONED.filter((k) => JSON.stringify(prev[k]) !== JSON.stringify(cur[k]));
  return changed.length ? `changed: ${changed.join(', ')}` : 'no change in description';
}

async function renderProduct(root, ctx, id) {
  root.append(
      el('p.crumbs', link(ctx.href('catalog'), '← Catalog')),
      el('h1', 'Product ', el('code', id)),
  );
  const r = await load(ctx, root, 'Loading the product', () => Promise.all([
    call('Catalog.GetProduct', {product_id: id}),
    call('Catalog.ProductHistory', {product_id: id}),
  ]));
  if (!r) return;
  const [got, hist] = r;
  const p = got.product || {};
  const head = got.head || {};
  root.append(
      el(
          'section.card#product-detail',
          {dataset: {product: p.id}},
          el('h2', p.title || p.id, ' ', levelBadge(p.level),
             head.retired ? badge('retired', 'bad') : null),
          p.description ? el('p.description', p.description) : null,
          facts([
            ['Id', el('code', p.id)],
            ['Version', `${p.version} (latest ${head.latest_version || p.version})`],
            ['Provider', p.provider],
            ['Classification', `level ${p.level} (JR/T 0197-2020)`],
            ['Operations', (p.operations || []).join(', ')],
            ['Tags', (p.tags || []).join(', ')],
            ['Rows', fmtInt(p.row_count)],
            ['Update cadence', p.update_cadence],
            ['Published', `height ${fmtInt(p.published_height)}, ${fmtTime(p.published_ms)}`],
            (p.enclave_measurements || []).length ?
                [
                  'Enclave measurements',
                  el('ul.plain.mono', p.enclave_measurements.map((m) => el('li', m)))
                ] :
                null,
            (p.allow_list || []).length ? ['Allow list', p.allow_list.join(', ')] : null,
            head.retired ?
                [
                  'Retired',
                  `at height ${fmtInt(head.retired_height)}: ${
                      head.retire_reason || '(no reason given)'}`
                ] :
                null,
          ]),
          el(
              'p.links',
              link(ctx.href('contracts', [], {product_id: p.id}), 'Contracts for this product'),
              link(ctx.href('usage', [], {product_id: p.id}), 'Usage records'),
              link(ctx.href('valuation', [], {product_id: p.id}), 'Valuation'),
              ),
          ),
      el('h2', 'Schema'),
      (p.schema || []).length ?
          table(
              [
                {label: 'Column', cell: (c) => el('code', c.name)},
                {label: 'Type', cell: (c) => c.type},
                {label: 'Level', cell: (c) => levelBadge(c.level)},
                {label: 'Description', cell: (c) => c.description, class: 'wrap'},
              ],
              p.schema,
              {id: 'product-schema'},
              ) :
          empty('This product describes no columns.'),
      el('h2', 'Offer (the most a contract may grant, and its list price)'),
      p.offer ? renderTerms(p.offer) : empty('No offer.'),
      el('h2', 'Version history'),
  );
  const versions =
      (hist.versions || []).slice().sort((a, b) => Number(a.version) - Number(b.version));
  if (!versions.length) {
    root.append(empty('No versions recorded.'));
    return;
  }
  const withChanges = versions.map((v, i) => ({v, change: changes(versions[i - 1], v)})).reverse();
  root.append(
      table(
          [
            {label: 'Version', cell: (r) => String(r.v.version), class: 'num'},
            {label: 'Height', cell: (r) => fmtInt(r.v.published_height), class: 'num'},
            {label: 'Published', cell: (r) => fmtTime(r.v.published_ms)},
            {label: 'Title', cell: (r) => r.v.title},
            {label: 'Level', cell: (r) => levelBadge(r.v.level)},
            {label: 'Change', cell: (r) => r.change, class: 'wrap'},
          ],
          withChanges,
          {
            id: 'product-history',
            rowClass: 'version-row',
            rowData: (r) => ({version: r.v.version})
          },
          ),
  );
}
