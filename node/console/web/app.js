// The console shell: session (login from #login=<token>, the login form, logout), the header,
// the navigation and the hash router (#/page/arg?filter=value). The URL is the page's state:
// filter forms write their values into the hash query, so every view can be linked to and the
// back button works. The console is read-only: no page submits a transaction.
import * as api from './api.js';
import {fillDatalists, resetLookups} from './lookups.js';
import * as billing from './pages/billing.js';
import * as catalog from './pages/catalog.js';
import * as contracts from './pages/contracts.js';
import * as governance from './pages/governance.js';
import * as receipt from './pages/receipt.js';
import * as usage from './pages/usage.js';
import * as valuation from './pages/valuation.js';
import * as violations from './pages/violations.js';
import {clear, el, errorBanner, fmtInt} from './ui.js';

const PAGES = [
  ['catalog', 'Catalog', catalog],
  ['contracts', 'Contracts', contracts],
  ['usage', 'Usage', usage],
  ['violations', 'Violations', violations],
  ['billing', 'Billing', billing],
  ['valuation', 'Valuation', valuation],
  ['governance', 'Governance', governance],
  ['receipt', 'Receipt checker', receipt],
];
const DEFAULT_PAGE = 'catalog';
const SESSION_POLL_MS = 15000;

const $ = (id) => document.getElementById(id);
let current = null;  // the session: {member, roles, origin, height, node}
let renderSeq = 0;   // bumps on every navigation; a page's late answers check it (ctx.alive)
let pollTimer = null;

// ---- routing -------------------------------------------------------------------------------

function parseHash() {
  const h = location.hash.replace(/^#\/?/, '');
  const [path, qs] = h.split('?', 2);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return {
    page: parts[0] || DEFAULT_PAGE,
    args: parts.slice(1),
    query: new URLSearchParams(qs || '')
  };
}

// Builds '#/page/arg?k=v' leaving out empty values.
export function href(page, args = [], query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== '' && v !== undefined && v !== null && v !== false) q.set(k, String(v));
  }
  const path = [page, ...args].map(encodeURIComponent).join('/');
  const qs = q.toString();
  return `#/${path}${qs ? '?' + qs : ''}`;
}

function go(target) {
  if (location.hash === target)
    route();
  else
    location.hash = target;
}

function route() {
  if (!current) return;
  const {page, args, query} = parseHash();
  const entry = PAGES.find(([id]) => id === page);
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.dataset.page === page);
  }
  const root = clear($('app'));
  const seq = ++renderSeq;
  if (!entry) {
    root.append(errorBanner({message: `no page '${page}'`, code: 'NOT_FOUND'}));
    return;
  }
  document.title = `${entry[1]} — TDS console`;
  const ctx = {
    session: current,
    args,
    query,
    alive: () => seq === renderSeq,
    go,
    href,
  };
  root.dataset.page = page;
  Promise.resolve().then(() => entry[2].render(root, ctx)).catch((e) => {
    if (ctx.alive()) root.append(errorBanner(e));
  });
}

// ---- session -------------------------------------------------------------------------------

function showHeader(s) {
  $('header-member').textContent = s.member;
  $('header-roles').textContent = (s.roles || []).join(', ');
  $('header-origin').textContent = s.origin || '';
  $('header-height').textContent = s.height ? fmtInt(s.height) : '';
  $('header-node').textContent = s.node || '';
  $('readonly-note').hidden = !(s.roles || []).includes('auditor');
}

function showApp(s) {
  current = s;
  showHeader(s);
  $('login-screen').hidden = true;
  $('shell').hidden = false;
  fillDatalists();
  clearInterval(pollTimer);
  pollTimer = setInterval(refreshSession, SESSION_POLL_MS);
  route();
}

function showLogin(message) {
  current = null;
  renderSeq++;
  clearInterval(pollTimer);
  resetLookups();
  clear($('app'));
  $('shell').hidden = true;
  $('login-screen').hidden = false;
  const err = clear($('login-error'));
  if (message) err.append(errorBanner(message));
  $('login-token').focus();
}

// Keeps the header's height current; an ended session returns to the login screen.
async function refreshSession() {
  try {
    const s = await api.session();
    if (current) {
      current = s;
      showHeader(s);
    }
  } catch (e) {
    if (e.status === 401)
      showLogin({message: 'Your session has ended. Log in again.', code: 'UNAUTHENTICATED'});
  }
}

// A pasted value may be the bare token or the whole URL `tds console login` printed.
function tokenFrom(text) {
  const t = text.trim();
  const i = t.indexOf('#login=');
  return decodeURIComponent(i >= 0 ? t.slice(i + '#login='.length) : t);
}

async function loginWith(token) {
  const btn = $('login-submit');
  btn.disabled = true;
  try {
    await api.login(token);
    showApp(await api.session());
  } catch (e) {
    showLogin(e);
  } finally {
    btn.disabled = false;
  }
}

async function boot() {
  $('nav').append(
      ...PAGES.map(([id, label]) => el('a', {href: `#/${id}`, dataset: {page: id}}, label)),
  );
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = tokenFrom($('login-token').value);
    if (!token) {
      showLogin({message: 'Paste the token (or the URL) that `tds console login` printed.'});
      return;
    }
    $('login-token').value = '';
    loginWith(token);
  });
  $('logout').addEventListener('click', async () => {
    try {
      await api.logout();
    } catch {
      // The session is gone either way.
    }
    history.replaceState(null, '', `${location.pathname}${location.search}#/`);
    showLogin(null);
  });
  api.setUnauthenticatedHandler((e) => showLogin(e));
  window.addEventListener('hashchange', () => {
    if (location.hash.startsWith('#login='))
      consumeLoginHash();
    else
      route();
  });
  if (location.hash.startsWith('#login=')) {
    await consumeLoginHash();
    return;
  }
  try {
    showApp(await api.session());
  } catch (e) {
    showLogin(e.status === 401 ? null : e);
  }
}

// The one-time token must not stay in the address bar (or in history): it is removed before
// it is even sent.
async function consumeLoginHash() {
  const token = tokenFrom(location.hash);
  history.replaceState(null, '', `${location.pathname}${location.search}#/${DEFAULT_PAGE}`);
  await loginWith(token);
}

boot();
