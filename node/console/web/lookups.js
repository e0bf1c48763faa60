// Per-session lookups the filter forms suggest from: members (Governance.ListMembers) and the
// catalog's products (Catalog.SearchProducts). Loaded once per login; suggestions only — every
// field still accepts any text, and the server checks it.
import {call, callAll} from './api.js';
import {clear, el} from './ui.js';

let membersP = null;
let productsP = null;

export function resetLookups() {
  membersP = null;
  productsP = null;
}

export function members() {
  if (!membersP) {
    membersP = call('Governance.ListMembers', {}).then((r) => r.members || []);
    membersP.catch(() => (membersP = null));
  }
  return membersP;
}

export function products() {
  if (!productsP) {
    productsP = callAll('Catalog.SearchProducts', {include_retired: true}, 'products');
    productsP.catch(() => (productsP = null));
  }
  return productsP;
}

function fill(id, values) {
  let dl = document.getElementById(id);
  if (!dl) {
    dl = el('datalist', {id});
    document.body.append(dl);
  }
  clear(dl);
  for (const [value, label] of values) dl.append(el('option', {value}, label));
}

// <datalist> ids the forms use: dl-members, dl-providers, dl-consumers, dl-products.
// Failures leave the lists empty (the forms work without suggestions).
export async function fillDatalists() {
  try {
    const ms = await members();
    const named = (m) => [m.id, `${m.name || m.id} (${(m.roles || []).join(', ')})`];
    fill('dl-members', ms.map(named));
    fill('dl-providers', ms.filter((m) => (m.roles || []).includes('provider')).map(named));
    fill('dl-consumers', ms.filter((m) => (m.roles || []).includes('consumer')).map(named));
  } catch {
    // Suggestions only.
  }
  try {
    const ps = await products();
    fill('dl-products', ps.map((p) => [p.id, `${p.title} — ${p.provider}`]));
  } catch {
    // Suggestions only.
  }
}

export const PURPOSES = [
  'credit_risk',
  'anti_fraud',
  'marketing',
  'compliance',
  'research',
  'risk_control',
  'customer_service',
  'regulatory_reporting',
];
export const OPERATIONS =
    ['psi', 'stats', 'joint_stats', 'query', 'lr_train', 'lr_score', 'enclave_sql'];
export const VIOLATION_TERMS = [
  'operation',
  'purpose',
  'columns',
  'window',
  'state',
  'calls_total',
  'calls_per_day',
  'rows_per_call',
  'min_group_size',
  'metering',
];
export const CONTRACT_STATES = [
  'REQUESTED',
  'COUNTERED',
  'ACTIVE',
  'SUSPENDED',
  'REJECTED',
  'TERMINATED',
  'EXPIRED',
];
