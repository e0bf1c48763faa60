// Contract terms. A contract carries its terms as the exact serialized tds.Terms bytes the
// proposer signed (proto/contracts.proto), so proto3 JSON shows them as base64; a product's
// offer is a Terms message already decoded. decodeTerms turns the bytes into the same shape
// as the proto3 JSON of a Terms message (64-bit integers as decimal strings, enums by name,
// every field present), so one renderer shows both.
import {decodeProto, protoJson} from './proto.js';
import {base64ToBytes, el, facts, fmtInt, fmtMoney, fmtTime, num} from './ui.js';

// proto/contracts.proto, in proto.js's schema form: number → [name, type, repeated?, nested].
const TIER = {
  1: ['up_to_calls', 'uint64'],
  2: ['per_call', 'int64']
};
const PRICE = {
  1: ['currency', 'string'],
  2: ['per_call', 'int64'],
  3: ['per_row', 'int64'],
  4: ['per_compute_second', 'int64'],
  5: ['subscription_fee', 'int64'],
  6: ['included_calls', 'uint64'],
  7: ['overage_per_call', 'int64'],
  8: ['tiers', 'message', true, TIER],
};
const ENCLAVE = {
  1: ['sql_sha256', 'string'],
  2: ['binary_sha256', 'string'],
  3: ['output_columns', 'string', true],
  4: ['count_column', 'string'],
  5: ['max_rows', 'uint64'],
  6: ['identifier_columns', 'string', true],
  7: ['platforms', 'string', true],
};
const METERING = ['METERING_UNSPECIFIED', 'METERING_STRICT', 'METERING_BATCHED'];
const TERMS = {
  1: ['operations', 'string', true],
  2: ['purposes', 'string', true],
  3: ['columns', 'string', true],
  4: ['valid_from_ms', 'int64'],
  5: ['valid_until_ms', 'int64'],
  6: ['max_calls_total', 'uint64'],
  7: ['max_calls_per_day', 'uint64'],
  8: ['max_rows_per_call', 'uint64'],
  9: ['min_group_size', 'uint32'],
  10: ['metering', 'enum', false, METERING],
  11: ['batched_max_delay_ms', 'int64'],
  12: ['price', 'message', false, PRICE],
  13: ['psi_output', 'string'],
  14: ['psi_protocol', 'string'],
  15: ['query_k', 'uint32'],
  16: ['enclave', 'message', false, ENCLAVE],
};

// Contract.terms (base64 of serialized tds.Terms) → Terms object; throws with what was wrong.
export function decodeTerms(termsBase64) {
  return protoJson(decodeProto(base64ToBytes(termsBase64 || ''), TERMS), TERMS);
}

const list = (xs) => (xs && xs.length ? xs.join(', ') : '—');
const limit = (v) => (num(v) ? fmtInt(v) : 'no limit');

// The price as readable components; only the components present are charged.
export function priceLines(price) {
  if (!price) return ['none'];
  const c = price.currency || '';
  const out = [];
  if (num(price.per_call)) out.push(`${fmtMoney(price.per_call, c)} per call`);
  if (num(price.per_row)) out.push(`${fmtMoney(price.per_row, c)} per row`);
  if (num(price.per_compute_second))
    out.push(`${fmtMoney(price.per_compute_second, c)} per compute second`);
  if (num(price.subscription_fee))
    out.push(
        `subscription ${fmtMoney(price.subscription_fee, c)} per month incl. ${
            fmtInt(
                price.included_calls,
                )} calls, then ${fmtMoney(price.overage_per_call, c)} per call`,
    );
  let prev = 0;
  for (const t of price.tiers || []) {
    const upTo = num(t.up_to_calls);
    out.push(
        `calls ${prev + 1}–${upTo ? fmtInt(upTo) : '∞'}: ${fmtMoney(t.per_call, c)} per call`,
    );
    prev = upTo;
  }
  return out.length ? out : [`free${c ? ' (' + c + ')' : ''}`];
}

export function renderTerms(terms) {
  const t = terms || {};
  const window = num(t.valid_from_ms) || num(t.valid_until_ms) ?
      `${fmtTime(t.valid_from_ms) || 'open'} → ${
          num(t.valid_until_ms) ? fmtTime(t.valid_until_ms) : 'open-ended'}` :
      'open';
  const enc = t.enclave;
  return el(
      'div.terms',
      facts([
        ['Operations', list(t.operations)],
        ['Purposes', list(t.purposes)],
        ['Columns', list(t.columns)],
        ['Validity (block time)', window],
        ['Calls in total', limit(t.max_calls_total)],
        ['Calls per day (UTC)', limit(t.max_calls_per_day)],
        ['Rows per call', limit(t.max_rows_per_call)],
        ['Minimum group size', num(t.min_group_size) ? fmtInt(t.min_group_size) : 'none'],
        [
          'Metering',
          (t.metering || '').replace(/^METERING_/, '').toLowerCase() +
              (t.metering === 'METERING_BATCHED' ?
                   ` (within ${fmtInt(t.batched_max_delay_ms)} ms)` :
                   ''),
        ],
        ['Price', el('ul.plain', priceLines(t.price).map((l) => el('li', l)))],
        t.psi_output ? ['PSI output', t.psi_output] : null,
        t.psi_protocol ? ['PSI protocol', t.psi_protocol] : null,
        num(t.query_k) ? ['Anonymous query k', fmtInt(t.query_k)] : null,
        enc ?
            [
              'Enclave SQL',
              facts(
                  [
                    ['SQL sha256', el('code', enc.sql_sha256)],
                    ['Binary sha256', el('code', enc.binary_sha256)],
                    ['Output columns', list(enc.output_columns)],
                    ['Count column', enc.count_column],
                    ['Max rows', fmtInt(enc.max_rows)],
                    ['Identifier columns', list(enc.identifier_columns)],
                    ['Platforms', list(enc.platforms)],
                  ],
                  'facts nested',
                  ),
            ] :
            null,
      ]),
  );
}
