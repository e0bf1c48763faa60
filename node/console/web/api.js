// The console's only way to the server: same-origin JSON over the session cookie.
// Every POST carries Content-Type: application/json (the server's CSRF guard refuses others).
// Errors come back as {"error": "...", "code": "..."}; the message is shown verbatim.

export class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code || '';
    this.status = status;
  }
}

let onUnauthenticated = () => {};

// app.js registers what a 401 on a data call means: the session ended, show the login screen.
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

async function request(method, path, body, {raw = false, quiet401 = false} = {}) {
  const init = {method, credentials: 'same-origin', headers: {}};
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new ApiError(`cannot reach the node: ${e.message}`, 'UNAVAILABLE', 0);
  }
  const text = await resp.text();
  if (!resp.ok) {
    let message = text.trim() || `${resp.status} ${resp.statusText}`;
    let code = '';
    try {
      const j = JSON.parse(text);
      if (j && typeof j.error === 'string') message = j.error;
      if (j && typeof j.code === 'string') code = j.code;
    } catch {
      // Not JSON (e.g. a proxy's page): the text itself is the message.
    }
    const err = new ApiError(message, code, resp.status);
    if (resp.status === 401 && !quiet401) onUnauthenticated(err);
    throw err;
  }
  if (raw) return text;
  try {
    return text ? JSON.parse(text) : {};
  } catch (e) {
    throw new ApiError(
        `the node answered ${path} with invalid JSON: ${e.message}`, 'INTERNAL', resp.status);
  }
}

// POST /api/call/<Service>.<Method>: request and response as proto3 JSON (snake_case names,
// 64-bit integers as decimal strings, enums by name, bytes base64).
export function call(method, body = {}) {
  return request('POST', `/api/call/${method}`, body);
}

export function login(token) {
  return request('POST', '/api/login', {token}, {quiet401: true});
}

export function logout() {
  return request('POST', '/api/logout', {});
}

export function session() {
  return request('GET', '/api/session', undefined, {quiet401: true});
}

// The genesis file text exactly as the node was started with (its bytes are hashed).
export function genesisText() {
  return request('GET', '/api/genesis', undefined, {raw: true});
}

// The receipt JSON text for a transaction id (64 hex), the format `tds` exports.
export function receiptText(txidHex) {
  return request('POST', '/api/receipt', {txid: txidHex}, {raw: true});
}

// Collects every page of a listing (for small lists like members and products), bounded.
export async function callAll(method, body, key, maxPages = 20) {
  const out = [];
  let cursor = '';
  for (let i = 0; i < maxPages; i++) {
    const r = await call(method, {...body, page: {limit: 1000, cursor}});
    out.push(...(r[key] || []));
    cursor = r.next_cursor || '';
    if (!cursor) break;
  }
  return out;
}
