// End-to-end test of the web console (node/console/web) in Chromium, against a running tdsd
// console with a populated data space (the caller brings it up).
//
//   node console_e2e.mjs URL TOKEN_FILE SHOTS_DIR
//
// URL is the console's base (https://HOST:PORT); TOKEN_FILE holds a fresh login token as
// printed by `tds console login` (the bare token or the URL with #login=<token>); a full-page
// PNG per page goes to SHOTS_DIR. Chromium: $CHROMIUM or /usr/bin/chromium. Prints one line per
// step; exits 1 with the failed assertion's message at the first failure (after saving a
// screenshot of the page as it was, SHOTS_DIR/FAILED-<step>.png).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {chromium} from 'playwright-core';

const TIMEOUT_MS = 30000;
const CHECKS = ['receipt', 'envelope', 'membership', 'epochs', 'checkpoint', 'inclusion'];
// deploy/localnet.sh's members (one validator) → their roles, as the governance page lists them.
const LOCALNET_MEMBERS = {
  operator: 'validator',
  'credit-bureau': 'provider',
  utility: 'provider',
  bank: 'consumer',
  auditor: 'auditor',
};

const [url, tokenFile, shotsDir] = process.argv.slice(2);
if (!url || !tokenFile || !shotsDir) {
  console.error('usage: node console_e2e.mjs URL TOKEN_FILE SHOTS_DIR');
  process.exit(2);
}
const base = url.replace(/\/+$/, '').replace(/#.*$/, '');
const tokenText = fs.readFileSync(tokenFile, 'utf8');
const token = (/#login=(\S+)/.exec(tokenText) || [null, tokenText.trim()])[1];
assert.ok(token, `${tokenFile} holds no login token`);
fs.mkdirSync(shotsDir, {recursive: true});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
const context = await browser.newContext({
  ignoreHTTPSErrors: true,
  acceptDownloads: true,
  viewport: {width: 1360, height: 900},
});
const page = await context.newPage();
page.setDefaultTimeout(TIMEOUT_MS);

// CSP violations and uncaught exceptions fail the run (they mean a page is broken in
// production even if the assertions happened to pass); other console errors are reported.
const problems = [];
page.on('pageerror', (e) => problems.push(`uncaught exception: ${e.message}`));
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  if (/Content[- ]Security[- ]Policy/i.test(m.text()))
    problems.push(`CSP violation: ${m.text()}`);
  else
    console.log(`    (browser console error: ${m.text()})`);
});

let shotNo = 0;
async function shot(name) {
  const file = path.join(shotsDir, `${String(++shotNo).padStart(2, '0')}-${name}.png`);
  await page.screenshot({path: file, fullPage: true});
  console.log(`    screenshot ${file}`);
}

let currentStep = '';
async function step(name, fn) {
  currentStep = name;
  console.log(`[e2e] ${name}`);
  await fn();
}

// Marks the elements matching `sel` as old, so ready() waits for the re-rendered ones.
async function markOld(sel) {
  await page.evaluate(
      (s) => document.querySelectorAll(s).forEach((e) => e.setAttribute('data-e2e-old', '1')), sel);
}

// Waits until `sel` (a fresh one) is shown and nothing under #app is loading; fails with the
// page's error banner when one appears instead.
async function ready(sel, what) {
  const handle = await page.waitForFunction(
      (s) => {
        const err = document.querySelector('#app .error-banner');
        if (err) return `error banner: ${err.textContent}`;
        const el = document.querySelector(`${s}:not([data-e2e-old])`);
        if (el && !document.querySelector('#app .loading')) return 'ok';
        return false;
      },
      sel,
      {timeout: TIMEOUT_MS},
  );
  const v = await handle.jsonValue();
  assert.equal(v, 'ok', `${what}: ${v}`);
}

// Same-document navigation to a console route; waits for `sel` on the new page. The route the
// page already shows is rendered again (setting the same hash fires no hashchange).
async function nav(hash, sel, what) {
  await markOld(sel);
  await page.evaluate((h) => {
    if (location.hash === h) {
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    } else {
      location.hash = h;
    }
  }, hash);
  await ready(sel, what);
}

const count = (sel) => page.locator(sel).count();
const attrs = (sel, name) =>
    page.locator(sel).evaluateAll((els, n) => els.map((e) => e.getAttribute(n)), name);

// Fills `sel`'s form controls and submits it, waiting for a fresh `readySel`.
async function submit(formSel, readySel, what) {
  await markOld(readySel);
  await page.locator(`${formSel} button[type=submit]`).click();
  await ready(readySel, what);
}

async function apiStatus(p) {
  return page.evaluate(async (u) => (await fetch(u, {credentials: 'same-origin'})).status, p);
}

async function download(buttonSel) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(buttonSel)]);
  const file = await dl.path();
  return {name: dl.suggestedFilename(), text: fs.readFileSync(file, 'utf8')};
}

// Flips one character of `s` at `i` to another of the same alphabet (hex or base64).
function flip(s, i, alphabet) {
  const c = s[i];
  const repl = alphabet[(alphabet.indexOf(c) + 1) % alphabet.length];
  assert.notEqual(repl, c);
  return s.slice(0, i) + repl + s.slice(i + 1);
}
const HEX = '0123456789abcdef';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

async function verifyPasted(receiptText) {
  await page.fill('#receipt-input', receiptText);
  await markOld('#receipt-verdict');
  await page.click('#receipt-verify');
  await page.waitForSelector('#receipt-verdict:not([data-e2e-old])');
  return {
    ok: await page.getAttribute('#receipt-verdict', 'data-ok'),
    word: (await page.textContent('#receipt-verdict .verdict-word')).trim(),
    failed: await page.getAttribute('#receipt-verdict', 'data-failed'),
    genesis: await page.textContent('#genesis-used'),
  };
}

let usageRow = null;  // {txid, purpose, product, period, provider} of a loaded usage record

async function run() {
  await step('login with #login=<token> from the URL', async () => {
    await page.goto(`${base}/#login=${token}`);
    const h = await page.waitForFunction(() => {
      const err = document.querySelector('#login-error .error-banner');
      if (err) return `login refused: ${err.textContent}`;
      const m = document.getElementById('header-member');
      return m && m.textContent.trim() && !document.getElementById('shell').hidden ? 'ok' : false;
    });
    assert.equal(await h.jsonValue(), 'ok');
    const member = (await page.textContent('#header-member')).trim();
    const session = await page.evaluate(async () => (await fetch('/api/session')).json());
    assert.equal(member, session.member, 'the header shows the session member');
    assert.ok((await page.textContent('#header-origin')).trim(), 'the header shows the origin');
    assert.match(
        (await page.textContent('#header-height')).trim(), /^[\d,]+$/,
        'the header shows the height');
    assert.ok(!page.url().includes('login='), `the token left the address bar (${page.url()})`);
    console.log(`    logged in as ${member} (${session.roles.join(', ')}), origin ${
        session.origin}, height ${session.height}`);
  });

  await step('catalog lists products and a search narrows them', async () => {
    await ready('#catalog-count', 'catalog');
    const all = await count('#catalog-list .product-row');
    assert.ok(all > 0, 'the catalog lists no products');
    await shot('catalog');
    const titles =
        await page.locator('#catalog-list .product-row td:nth-child(2)').allTextContents();
    const words = [...new Set(
        titles.flatMap((t) => t.toLowerCase().split(/[^a-z0-9]+/)).filter((w) => w.length >= 4))];
    const candidates = words.filter((w) => titles.some((t) => !t.toLowerCase().includes(w)));
    let narrowed = false;
    for (const w of candidates.slice(0, 4)) {
      await page.fill('#catalog-search', w);
      await submit('#catalog-form', '#catalog-count', `search '${w}'`);
      const n = await count('#catalog-list .product-row');
      console.log(`    search '${w}': ${n} of ${all}`);
      if (n > 0 && n < all) {
        narrowed = true;
        break;
      }
    }
    if (!narrowed) {
      // One product, or words shared by all: a word nothing has must leave none.
      await page.fill('#catalog-search', 'zzqxnonexistent');
      await submit('#catalog-form', '#catalog-count', 'search for a missing word');
      assert.equal(
          await count('#catalog-list .product-row'), 0,
          'a search for a missing word still lists products');
      assert.ok(
          await count('#catalog-results .empty'),
          'no empty-state message for a search without results');
    }
    await shot('catalog-search');
  });

  await step('product detail shows its version history', async () => {
    await nav('#/catalog', '#catalog-count', 'catalog');
    await page.locator('#catalog-list .product-link').first().click();
    await ready('#product-history', 'product detail');
    assert.ok(await count('#product-detail'), 'no product detail');
    assert.ok((await count('#product-history .version-row')) >= 1, 'no versions in the history');
    await shot('product');
  });

  await step('contracts list and a contract with its negotiation history', async () => {
    await nav('#/contracts', '#contracts-count', 'contracts');
    const n = await count('#contracts-list .contract-row');
    assert.ok(n > 0, 'no contracts listed');
    await shot('contracts');
    const states = await attrs('#contracts-list .contract-row', 'data-state');
    const pick = states.includes('ACTIVE') ? 'ACTIVE' : states[0];
    await markOld('#contracts-count');
    await page.selectOption('#contracts-state', pick);
    await ready('#contracts-count', `contracts in state ${pick}`);
    const filtered = await attrs('#contracts-list .contract-row', 'data-state');
    assert.ok(
        filtered.length > 0 && filtered.every((s) => s === pick),
        `state filter ${pick} lists ${filtered.join(',')}`);
    await page.locator('#contracts-list .contract-link').first().click();
    await ready('#contract-history', 'contract detail');
    const events = await attrs('#contract-history .history-row', 'data-event');
    assert.ok(events.length >= 1, 'the negotiation history is empty');
    assert.equal(events[0], 'request', `the history starts with '${events[0]}', not 'request'`);
    assert.ok(await count('#contract-detail .terms, .terms'), 'the terms are not shown');
    assert.equal(
        await count('.terms + .error-banner, #app .error-banner'), 0, 'the terms did not decode');
    console.log(`    history: ${events.join(' → ')}`);
    await shot('contract');
  });

  await step('a strict contract shows its quota reservations', async () => {
    const listed = await page.evaluate(async () => {
      const r = await fetch('/api/call/Audit.ListReservations', {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({state: 'RESERVATION_CONSUMED'}),
      });
      return r.json();
    });
    const reservations = listed.reservations || [];
    assert.ok(reservations.length > 0, 'the quickstart left no consumed reservation');
    const id = reservations[0].contract_id;
    const expected = reservations.filter((x) => x.contract_id === id).length;
    await nav(`#/contracts/${id}`, '#reservations-list', `contract ${id}`);
    const states = await attrs('#reservations-list .reservation-row', 'data-state');
    assert.ok(
        states.filter((x) => x === 'RESERVATION_CONSUMED').length >= expected,
        `contract ${id}: ${states.length} reservation rows, expected ${expected} consumed`);
    console.log(`    ${id}: ${states.length} reservation(s), ${expected} consumed`);
    await shot('contract-reservations');
  });

  await step('usage explorer: rows, charts, export, a filter changes the rows', async () => {
    await nav('#/usage', '#usage-count', 'usage');
    const rows = await count('#usage-table .usage-row');
    assert.ok(rows > 0, 'no usage records');
    const more = (await page.getAttribute('#usage-count', 'data-more')) === '1';
    for (const [sel, mark] of [
             ['#chart-per-day', 'circle.point'],
             ['#chart-by-purpose', 'rect.bar'],
             ['#chart-by-operation', 'rect.bar'],
    ]) {
      assert.ok((await count(`${sel} svg ${mark}`)) > 0, `chart ${sel} has no ${mark}`);
    }
    const first = page.locator('#usage-table .usage-row').first();
    usageRow = {
      txid: await first.getAttribute('data-txid'),
      product: await first.getAttribute('data-product'),
      period: await first.getAttribute('data-period'),
      provider: await first.getAttribute('data-provider'),
    };
    assert.match(usageRow.txid || '', /^[0-9a-f]{64}$/, 'a usage row carries no txid');
    assert.ok(
        await count(`#usage-table a[href="#/receipt/${usageRow.txid}"]`),
        'the row does not link to its receipt');
    await shot('usage');

    const csv = await download('#usage-export-csv');
    assert.match(csv.name, /\.csv$/);
    const csvLines = csv.text.trim().split(/\r?\n/);
    assert.equal(
        csvLines.length, rows + 1, `the CSV has ${csvLines.length} lines for ${rows} rows`);
    assert.match(csvLines[0], /^index,txid,/);
    const json = await download('#usage-export-json');
    assert.match(json.name, /\.json$/);
    assert.equal(
        JSON.parse(json.text).records.length, rows,
        'the JSON export does not hold the loaded rows');

    // The filter value with the fewest rows among those loaded (so the rows must change).
    let filter = null;
    for (const [attr, control] of [
             ['data-purpose', '#usage-f-purpose'],
             ['data-operation', '#usage-f-operation'],
             ['data-product', '#usage-f-product_id'],
    ]) {
      const vals = await attrs('#usage-table .usage-row', attr);
      const tally = new Map();
      for (const v of vals) tally.set(v, (tally.get(v) || 0) + 1);
      if (tally.size < 2) continue;
      const [value, n] = [...tally.entries()].sort((a, b) => a[1] - b[1])[0];
      filter = {attr, control, value, n};
      break;
    }
    assert.ok(
        filter,
        'the loaded usage rows have one purpose, operation and product: no filter can change them');
    if ((await page.locator(filter.control).evaluate((e) => e.tagName)) === 'SELECT') {
      await page.selectOption(filter.control, filter.value);
    } else {
      await page.fill(filter.control, filter.value);
    }
    await submit('#usage-form', '#usage-count', `usage filtered by ${filter.attr}=${filter.value}`);
    const after = await attrs('#usage-table .usage-row', filter.attr);
    console.log(`    ${filter.attr}=${filter.value}: ${rows} rows → ${after.length}`);
    assert.ok(after.length > 0, `no rows after filtering by ${filter.attr}=${filter.value}`);
    assert.ok(
        after.every((v) => v === filter.value),
        `rows of other ${filter.attr} remain after the filter`);
    if (!more) assert.ok(after.length < rows, `the row count did not change (${rows})`);
    assert.ok(
        page.url().includes(`=${encodeURIComponent(filter.value)}`),
        'the filter is not in the URL');
    await shot('usage-filtered');
  });

  await step('usage explorer: small pages, then "Load all" for the charts', async () => {
    await nav('#/usage', '#usage-count', 'usage');
    const total = Number(await page.getAttribute('#usage-count', 'data-count'));
    const size = Math.max(1, Math.floor(total / 3));
    assert.ok(total > size, `too few usage records (${total}) to page`);
    await nav(`#/usage?limit=${size}`, '#usage-count', `usage, ${size} per page`);
    assert.equal(await count('#usage-table .usage-row'), size, 'the page size is not applied');
    assert.equal(await page.inputValue('#usage-f-limit'), String(size));
    await markOld('#usage-count');
    await page.click('#usage-more-all');
    await ready('#usage-count', 'every usage record');
    assert.equal(await count('#usage-table .usage-row'), total, '"Load all" did not load them all');
    assert.equal(await page.getAttribute('#usage-count', 'data-more'), '0');
    const perDay = await page.locator('#chart-per-day svg circle.point').count();
    assert.ok(perDay > 0, 'the per-day chart is empty after loading all');
    console.log(`    ${size} per page, then all: ${total} rows`);
  });

  await step('violations list with reasons, filtered by term', async () => {
    await nav('#/violations', '#violations-count', 'violations');
    const n = await count('#violations-table .violation-row');
    assert.ok(n >= 1, 'no violations listed');
    const reason = (await page.locator('#violations-table .violation-row .violation-reason')
                        .first()
                        .textContent())
                       .trim();
    assert.match(reason, /^\w+: \S/, `the first violation's reason is '${reason}'`);
    assert.ok(
        (await count('#chart-by-term svg rect.bar')) > 0,
        'no bars in the violations-by-term chart');
    const term =
        await page.locator('#violations-table .violation-reason').first().getAttribute('data-term');
    await page.selectOption('#violations-f-term', term);
    await submit('#violations-form', '#violations-count', `violations of term ${term}`);
    const rowsTerms = await page.locator('#violations-table .violation-row')
                          .evaluateAll(
                              (rs) => rs.map(
                                  (r) => [...r.querySelectorAll('.violation-reason')].map(
                                      (e) => e.dataset.term)));
    assert.ok(
        rowsTerms.length >= 1 && rowsTerms.every((ts) => ts.includes(term)),
        `term filter '${term}' lists other violations`);
    console.log(`    ${n} violations; first: ${reason}`);
    await shot('violations');
  });

  await step('billing statement with line items and totals', async () => {
    const q = new URLSearchParams({provider: usageRow.provider, period: usageRow.period});
    await nav(`#/billing?${q}`, '#billing-summary', 'billing');
    assert.ok(
        (await count('#billing-results .statement')) >= 1,
        `no statement for ${usageRow.provider} in ${usageRow.period}`);
    assert.ok(
        (await count('#billing-results .statement-line')) >= 1, 'the statement has no line items');
    const total = (await page.textContent('#billing-total .figure-value')).trim();
    assert.match(total, /\d+\.\d\d/, `the total is '${total}'`);
    assert.ok(
        (await count('#chart-revenue-by-product svg rect.bar')) > 0,
        'no bars in revenue per product');
    console.log(`    ${usageRow.provider} ${usageRow.period}: total ${total}`);
    await shot('billing');
  });

  await step('valuation figures and charts', async () => {
    await nav(
        `#/valuation?product_id=${encodeURIComponent(usageRow.product)}`, '#valuation-figures',
        'valuation');
    const figures = await page.locator('#valuation-figures .figure-value').allTextContents();
    assert.ok(figures.length >= 5, `only ${figures.length} figures`);
    assert.ok(
        figures.every((f) => /\d/.test(f)), `figures without numbers: ${figures.join(' | ')}`);
    assert.ok(
        (await count('#chart-valuation-revenue svg rect.bar')) > 0, 'no bars in revenue per month');
    console.log(`    ${usageRow.product}: ${figures.join(' | ')}`);
    await shot('valuation');
  });

  await step('governance: the members with their roles and keys, the proposals', async () => {
    await nav('#/governance', '#proposals-count', 'governance');
    await ready('#governance-members-count', 'governance members');
    const ids = await attrs('#members-list .member-row', 'data-member');
    const roles = await attrs('#members-list .member-row', 'data-roles');
    const got = Object.fromEntries(ids.map((id, i) => [id, roles[i]]));
    assert.deepEqual(got, LOCALNET_MEMBERS, 'the members table');
    const keys = await attrs('#members-list .member-row td:nth-child(4) code', 'title');
    assert.equal(keys.length, ids.length, 'a member row shows no public key');
    assert.ok(keys.every((k) => /^[0-9a-f]{64}$/.test(k)), `public keys: ${keys.join(', ')}`);

    const n = await count('#proposals-list .proposal-row');
    assert.equal(
        String(n), await page.getAttribute('#proposals-count', 'data-count'),
        'the proposals count does not match the rows');
    if (n === 0) {
      assert.ok(await count('#governance-proposals .empty'), 'no rows and no empty state');
    } else {
      const actions = await attrs('#proposals-list .proposal-row', 'data-action');
      assert.ok(
          actions.every((a) => a !== 'unknown'), `undecoded proposal actions: ${actions.join()}`);
      // Proposing is approving: every proposal has at least its proposer's vote.
      const votes = await page.locator('#proposals-list .proposal-row')
                        .evaluateAll((rs) => rs.map((r) => r.querySelectorAll('.vote').length));
      assert.ok(votes.every((v) => v >= 1), `votes per proposal: ${votes.join()}`);
      const statuses = await attrs('#proposals-list .proposal-row', 'data-status');
      console.log(`    ${n} proposal(s): ${
          actions.map((a, i) => `${a} ${statuses[i]} (${votes[i]} vote(s))`).join('; ')}`);
    }
    console.log(`    members: ${ids.map((id, i) => `${id} (${roles[i]})`).join(', ')}`);
    await shot('governance');
  });

  await step('receipt checker: a real receipt is VALID with all six checks passing', async () => {
    await nav(`#/receipt/${usageRow.txid}`, '#receipt-verdict', 'receipt');
    assert.equal(
        await page.getAttribute('#receipt-verdict', 'data-ok'), 'true',
        `verdict: ${await page.textContent('#receipt-verdict')}`);
    assert.equal((await page.textContent('#receipt-verdict .verdict-word')).trim(), 'VALID');
    const names = await attrs('#receipt-checks .check', 'data-check');
    assert.deepEqual(names, CHECKS);
    const oks = await attrs('#receipt-checks .check', 'data-ok');
    assert.deepEqual(oks, CHECKS.map(() => 'true'), `checks: ${oks.join(',')}`);
    assert.match(
        await page.textContent('#genesis-used'), /genesis: the node’s, sha256 [0-9a-f]{64}/);
    await shot('receipt-valid');
  });

  await step('receipt checker: tampered copies are INVALID, naming the failed check', async () => {
    const original = await page.inputValue('#receipt-input');
    const r = JSON.parse(original);

    assert.ok(
        r.inclusion_proof.length > 0,
        'the receipt has an empty inclusion proof (tree of one): cannot tamper it');
    const bad1 = structuredClone(r);
    bad1.inclusion_proof[0] = flip(bad1.inclusion_proof[0], 10, HEX);
    const v1 = await verifyPasted(JSON.stringify(bad1, null, 2));
    assert.equal(v1.word, 'INVALID');
    assert.equal(v1.failed, 'inclusion', `tampered inclusion proof: failed '${v1.failed}'`);
    assert.ok(await count('.check[data-check="inclusion"][data-ok="false"]'));
    await shot('receipt-bad-inclusion');

    const bad2 = structuredClone(r);
    const lines = bad2.checkpoint.split('\n');
    const i = lines.findIndex((l) => l.startsWith('— '));
    assert.ok(i > 0, 'the checkpoint has no signature line');
    const parts = lines[i].split(' ');
    // Past the 4-byte key id (6 base64 characters) and well before any padding.
    parts[2] = flip(parts[2], 30, B64);
    lines[i] = parts.join(' ');
    bad2.checkpoint = lines.join('\n');
    const v2 = await verifyPasted(JSON.stringify(bad2, null, 2));
    assert.equal(v2.word, 'INVALID');
    assert.equal(v2.failed, 'checkpoint', `tampered checkpoint signature: failed '${v2.failed}'`);
    assert.ok(await count('.check[data-check="checkpoint"][data-ok="false"]'));
    assert.ok(
        await count('.check[data-check="inclusion"][data-ok="null"]'),
        'inclusion should be "not reached"');
    await shot('receipt-bad-checkpoint');

    // An uploaded genesis is used and named; one of another data space refuses the receipt.
    const genesis = await page.evaluate(async () => (await fetch('/api/genesis')).text());
    await page.setInputFiles(
        '#genesis-file',
        {name: 'genesis.json', mimeType: 'application/json', buffer: Buffer.from(genesis)});
    const v3 = await verifyPasted(original);
    assert.equal(v3.word, 'VALID', `with the uploaded genesis: ${v3.word} (${v3.failed})`);
    assert.match(v3.genesis, /genesis: uploaded file genesis\.json, sha256 [0-9a-f]{64}/);
    const g = JSON.parse(genesis);
    g.origin = `${g.origin}.other`;
    await page.setInputFiles(
        '#genesis-file',
        {name: 'other.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(g))});
    const v4 = await verifyPasted(original);
    assert.equal(v4.word, 'INVALID', 'a receipt verified against another data space’s genesis');
    console.log(`    other origin: failed '${v4.failed}'`);
  });

  await step('logout returns to the login screen; /api/session is 401', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login-screen:not([hidden])');
    assert.ok(await page.locator('#shell').isHidden(), 'the console is still shown after logout');
    assert.equal(await apiStatus('/api/session'), 401, '/api/session after logout');
    await shot('logged-out');
  });

  assert.deepEqual(problems, [], `the pages reported errors:\n  ${problems.join('\n  ')}`);
}

try {
  await run();
  console.log('[e2e] PASS: every console page checked');
  await browser.close();
} catch (e) {
  console.error(`[e2e] FAIL in step '${currentStep}': ${e.message}`);
  try {
    await page.screenshot({
      path: path.join(shotsDir, `FAILED-${currentStep.replace(/[^a-z0-9]+/gi, '-')}.png`),
      fullPage: true
    });
  } catch {
    // The failure is reported either way.
  }
  await browser.close();
  process.exit(1);
}
