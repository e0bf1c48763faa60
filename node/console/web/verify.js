// In-browser receipt verifier: the checks of ledger::VerifyReceipt (ledger/receipt.cc), in
// plain JavaScript with no dependencies (but the console's own proto.js), for the web console.
// Runs in browsers (secure contexts: https or localhost, where crypto.subtle exists) and in
// Node 20.
//
// A receipt is one ledger transaction, its RFC 9162 inclusion proof and the quorum-signed
// checkpoint (C2SP signed note) of the block that committed it (docs/formats.md, "Receipt
// JSON"). Verifying it needs nothing but the genesis file. verifyReceipt reports the C++ checks
// by name, in order: receipt, envelope, membership, epochs, checkpoint, inclusion.
//
// The C++ code is the reference: every rule here mirrors a named C++ function, and
// node/console/web/test/verify_test.mjs checks that both decide every receipt of the vector
// set made by node/console/receipt_vectors.cc the same way, with the same message.
//
// A receipt from validator epoch e carries the e epoch changes before it; they are followed
// from the genesis validators as ledger/epochs.cc does (each change's header, its checkpoint
// and the consensus commit proof of ledger/consensus/certificates.cc).
//
// Sections: encoding, protobuf, sha, ed25519, merkle, note (checkpoints), genesis, epochs,
// receipt.

import {decodeProto, ProtoError} from './proto.js';

// The test suite reaches the decoder through this module.
export {decodeProto};

// ---------------------------------------------------------------------------------------------
// Encoding (common/bytes.cc): lowercase hex out, either case in; strict padded base64.

// A refusal. Inside verifyReceipt its message is the C++ one: "<check>: <detail>".
class VerifyError extends Error {}

const HEX = '0123456789abcdef';

export function hexEncode(bytes) {
  let out = '';
  for (const b of bytes) out += HEX[b >> 4] + HEX[b & 15];
  return out;
}

/** Hex (either case) to bytes; throws like common/bytes.cc HexDecode. */
export function hexDecode(text) {
  if (text.length % 2 !== 0) throw new VerifyError(`hex: odd length ${text.length}`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; ++i) {
    const hi = hexValue(text.charCodeAt(2 * i));
    const lo = hexValue(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      throw new VerifyError(`hex: invalid character at position ${hi < 0 ? 2 * i : 2 * i + 1}`);
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}

function hexValue(c) {
  if (c >= 48 && c <= 57) return c - 48;   // 0-9
  if (c >= 97 && c <= 102) return c - 87;  // a-f
  if (c >= 65 && c <= 70) return c - 55;   // A-F
  return -1;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function base64Encode(bytes) {
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[v >> 18] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63] + B64[v & 63];
  }
  if (bytes.length - i === 1) {
    const v = bytes[i] << 16;
    out += B64[v >> 18] + B64[(v >> 12) & 63] + '==';
  } else if (bytes.length - i === 2) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64[v >> 18] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63] + '=';
  }
  return out;
}

/**
 * RFC 4648 §4 base64 with padding, strictly (common/bytes.cc Base64Decode): no whitespace,
 * padding only at the end, and no stray bits under it (one text per byte string).
 */
export function base64Decode(text) {
  if (text.length % 4 !== 0) {
    throw new VerifyError(`base64: length ${text.length} is not a multiple of 4`);
  }
  const out = [];
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const v = [0, 0, 0, 0];
    let pad = 0;
    for (let j = 0; j < 4; ++j) {
      const c = text[i + j];
      if (c === '=' && last && j >= 2) {
        ++pad;
        continue;
      }
      v[j] = B64.indexOf(c);
      if (pad > 0 || v[j] < 0) {
        throw new VerifyError(`base64: invalid character at position ${i + j}`);
      }
    }
    const w = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push(w >> 16);
    if (pad < 2) out.push((w >> 8) & 0xff);
    if (pad < 1) out.push(w & 0xff);
    if ((pad === 1 && (v[2] & 3) !== 0) || (pad === 2 && (v[1] & 15) !== 0)) {
      throw new VerifyError('base64: non-canonical padding bits');
    }
  }
  return Uint8Array.from(out);
}

export function utf8Encode(text) {
  return new TextEncoder().encode(text);
}

export function concatBytes(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; ++i) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}

// absl::CHexEscape, for quoting untrusted strings in messages as the C++ does.
const C_ESCAPES = {
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x22: '\\"',
  0x27: '\\\'',
  0x5c: '\\\\'
};

function cHexEscape(text) {
  let out = '';
  for (const b of utf8Encode(text)) {
    const printable = b >= 0x20 && b < 0x7f;
    out += C_ESCAPES[b] ?? (printable ? String.fromCharCode(b) : `\\x${HEX[b >> 4]}${HEX[b & 15]}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Protobuf wire format: proto.js decodes these messages exactly as the C++ parser does
// (accepted iff ParseFromString accepts), so every field of every nested message is listed,
// read or not.

// proto/envelope.proto and proto/ledger.proto.
const ENVELOPE_SCHEMA = {
  1: ['context', 'string'],
  2: ['payload', 'bytes'],
  3: ['signer', 'bytes'],
  4: ['signature', 'bytes'],
};
const TRANSACTION_SCHEMA = {
  1: ['type', 'string'],
  2: ['submitter', 'string'],
  3: ['body', 'bytes'],
  4: ['nonce', 'uint64'],
  5: ['created_ms', 'int64'],
};
const VALIDATOR_KEY_SCHEMA = {
  1: ['id', 'string'],
  2: ['public_key', 'bytes'],
};
const BLOCK_HEADER_SCHEMA = {
  1: ['height', 'uint64'],
  2: ['prev_block_hash', 'bytes'],
  3: ['log_size', 'uint64'],
  4: ['log_root', 'bytes'],
  5: ['state_digest', 'bytes'],
  6: ['timestamp_ms', 'int64'],
  7: ['proposer', 'string'],
  8: ['tx_count', 'uint32'],
  9: ['round', 'uint64'],
  10: ['parent_id', 'bytes'],
  11: ['epoch', 'uint64'],
  12: ['next_validators', 'message', true, VALIDATOR_KEY_SCHEMA],
  13: ['state_root', 'bytes'],
};
// proto/consensus.proto.
const VALIDATOR_SIGNATURE_SCHEMA = {
  1: ['signer', 'uint32'],
  2: ['signature', 'bytes'],
};
const BLOCK_REF_SCHEMA = {
  1: ['round', 'uint64'],
  2: ['parent', 'bytes'],
  3: ['header', 'bytes'],
};
const QUORUM_CERT_SCHEMA = {
  1: ['block', 'message', false, BLOCK_REF_SCHEMA],
  2: ['votes', 'message', true, VALIDATOR_SIGNATURE_SCHEMA],
};
const TIMEOUT_VOTE_SCHEMA = {
  1: ['view', 'uint64'],
  2: ['high_qc_round', 'uint64'],
  3: ['sig', 'message', false, VALIDATOR_SIGNATURE_SCHEMA],
};
const TIMEOUT_CERT_SCHEMA = {
  1: ['view', 'uint64'],
  2: ['votes', 'message', true, TIMEOUT_VOTE_SCHEMA],
};
const REJECTED_TX_SCHEMA = {
  1: ['txid', 'bytes'],
  2: ['code', 'int32'],
  3: ['reason', 'string'],
};
const BLOCK_PROPOSAL_SCHEMA = {
  1: ['block', 'message', false, BLOCK_REF_SCHEMA],
  2: ['entries', 'bytes', true],
  3: ['justify', 'message', false, QUORUM_CERT_SCHEMA],
  4: ['tc', 'message', false, TIMEOUT_CERT_SCHEMA],
  5: ['rejected', 'message', true, REJECTED_TX_SCHEMA],
};
const COMMIT_PROOF_SCHEMA = {
  1: ['path', 'message', true, BLOCK_REF_SCHEMA],
  2: ['child', 'message', false, BLOCK_PROPOSAL_SCHEMA],
  3: ['certified_child', 'message', false, QUORUM_CERT_SCHEMA],
};

// ---------------------------------------------------------------------------------------------
// SHA-2, through WebCrypto (browsers expose crypto.subtle only in secure contexts).

function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) {
    throw new VerifyError(
        'this page has no WebCrypto (crypto.subtle exists only over https or on localhost)');
  }
  return s;
}

export async function sha256(bytes) {
  return new Uint8Array(await subtle().digest('SHA-256', bytes));
}

async function sha512(bytes) {
  return new Uint8Array(await subtle().digest('SHA-512', bytes));
}

// ---------------------------------------------------------------------------------------------
// Ed25519 verification under the predicate of common/ed25519.h. A signature (A, M, R || S) is
// valid iff ALL of:
//   1. |A| = 32, |sig| = 64;
//   2. S < L;
//   3. A and R are canonical encodings (y < p; x = 0 with the sign bit set refused) of curve
//      points;
//   4. A is not of small order ([8]A != identity);
//   5. [8]([S]B - R - [h]A) == identity, h = SHA-512(R || A || M) mod L   (cofactored).
// Field elements are BigInts kept reduced to [0, p); points are extended twisted Edwards
// coordinates [X, Y, Z, T] with x = X/Z, y = Y/Z, xy = T/Z [HWCD08], on -x^2 + y^2 = 1 + d x^2 y^2.
// Variable time: it only ever handles public data.
//
// [HWCD08] Hisil, Wong, Carter, Dawson: Twisted Edwards Curves Revisited (ASIACRYPT 2008).

const P = (1n << 255n) - 19n;
const L = (1n << 252n) + 27742317777372353535851937790883648493n;  // the prime group order

const fadd = (a, b) => {
  const s = a + b;
  return s >= P ? s - P : s;
};
const fsub = (a, b) => {
  const s = a - b;
  return s < 0n ? s + P : s;
};
const fmul = (a, b) => (a * b) % P;

function fpow(base, exp) {
  let result = 1n;
  for (; exp > 0n; exp >>= 1n) {
    if (exp & 1n) result = fmul(result, base);
    base = fmul(base, base);
  }
  return result;
}

const D = fmul(P - 121665n, fpow(121666n, P - 2n));  // d = -121665 / 121666
const D2 = fadd(D, D);
const SQRT_M1 = fpow(2n, (P - 1n) / 4n);

function bytesToBigLE(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; --i) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

function bigToBytesLE(n, length) {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; ++i, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

const IDENTITY = [0n, 1n, 1n, 0n];

// add-2008-hwcd-3 (a = -1): complete, so it also doubles and handles the identity.
function padd([X1, Y1, Z1, T1], [X2, Y2, Z2, T2]) {
  const a = fmul(fsub(Y1, X1), fsub(Y2, X2));
  const b = fmul(fadd(Y1, X1), fadd(Y2, X2));
  const c = fmul(fmul(T1, D2), T2);
  const d = fmul(fadd(Z1, Z1), Z2);
  const e = fsub(b, a), f = fsub(d, c), g = fadd(d, c), h = fadd(b, a);
  return [fmul(e, f), fmul(g, h), fmul(f, g), fmul(e, h)];
}

// dbl-2008-hwcd (a = -1).
function pdbl([X1, Y1, Z1]) {
  const a = fmul(X1, X1), b = fmul(Y1, Y1), zz = fmul(Z1, Z1);
  const c = fadd(zz, zz);
  const xy = fadd(X1, Y1);
  const e = fsub(fsub(fmul(xy, xy), a), b);
  const g = fsub(b, a);  // a*A + B with a = -1
  const f = fsub(g, c);
  const h = fsub(fsub(0n, a), b);  // a*A - B with a = -1
  return [fmul(e, f), fmul(g, h), fmul(f, g), fmul(e, h)];
}

const pneg = ([X, Y, Z, T]) => [fsub(0n, X), Y, Z, fsub(0n, T)];

// Projective equality with the identity: x = 0 and y = 1.
const isIdentity = ([X, Y, Z]) => X === 0n && Y === Z;

const isSmallOrder = (pt) => isIdentity(pdbl(pdbl(pdbl(pt))));

// RFC 8032 5.1.3 step 3: a square root of u/v, or null if u/v is not a square.
function sqrtRatio(u, v) {
  const v3 = fmul(fmul(v, v), v);
  const v7 = fmul(fmul(v3, v3), v);
  const x = fmul(fmul(u, v3), fpow(fmul(u, v7), (P - 5n) / 8n));
  const check = fmul(v, fmul(x, x));
  if (check === u) return x;
  if (check === fsub(0n, u)) return fmul(x, SQRT_M1);
  return null;
}

/** Decompresses a 32-byte point under rule 3 (canonical y < p; no "negative zero" x). */
function decompress(bytes) {
  if (bytes.length !== 32) return null;
  const sign = bytes[31] >> 7;
  const y = bytesToBigLE(bytes) & ((1n << 255n) - 1n);
  if (y >= P) return null;
  const yy = fmul(y, y);
  let x = sqrtRatio(fsub(yy, 1n), fadd(fmul(D, yy), 1n));
  if (x === null) return null;
  if (x === 0n && sign === 1) return null;
  if (Number(x & 1n) !== sign) x = P - x;
  return [x, y, 1n, fmul(x, y)];
}

function compress([X, Y, Z]) {
  const zinv = fpow(Z, P - 2n);
  const x = fmul(X, zinv), y = fmul(Y, zinv);
  const out = bigToBytesLE(y, 32);
  out[31] |= Number(x & 1n) << 7;
  return out;
}

// The base point: y = 4/5, x even.
const BASE =
    decompress(hexDecode('5866666666666666666666666666666666666666666666666666666666666666'));

// [0]P .. [15]P, for 4-bit windows.
function windowTable(pt) {
  const t = [IDENTITY, pt];
  for (let i = 2; i < 16; ++i) t.push(padd(t[i - 1], pt));
  return t;
}

let baseTable = null;

/**
 * sum [k_i] P_i for terms [[k_i, P_i], ...] by Straus' method: one shared chain of doublings,
 * 4-bit windows. REQUIRES: 0 <= k_i < 2^256.
 */
function multiScalarMult(terms) {
  const tables =
      terms.map(([, pt]) => (pt === BASE ? (baseTable ??= windowTable(BASE)) : windowTable(pt)));
  let acc = IDENTITY;
  for (let shift = 252n; shift >= 0n; shift -= 4n) {
    acc = pdbl(pdbl(pdbl(pdbl(acc))));
    for (let i = 0; i < terms.length; ++i) {
      const digit = Number((terms[i][0] >> shift) & 15n);
      if (digit !== 0) acc = padd(acc, tables[i][digit]);
    }
  }
  return acc;
}

/**
 * The signature predicate of common/ed25519.h (see above); pub, msg, sig are Uint8Arrays.
 * Resolves to a boolean (async only for WebCrypto's SHA-512).
 */
export async function ed25519Verify(pub, msg, sig) {
  if (pub.length !== 32 || sig.length !== 64) return false;  // rule 1
  const s = bytesToBigLE(sig.subarray(32));
  if (s >= L) return false;  // rule 2
  const a = decompress(pub);
  const r = decompress(sig.subarray(0, 32));
  if (a === null || r === null) return false;  // rule 3
  if (isSmallOrder(a)) return false;           // rule 4
  const h = bytesToBigLE(await sha512(concatBytes(sig.subarray(0, 32), pub, msg))) % L;
  const q = padd(multiScalarMult([[s, BASE], [h, pneg(a)]]), pneg(r));
  return isSmallOrder(q);  // rule 5: [8]q == 0
}

/**
 * Whether `pub` is a usable member key as common/keys.cc PublicKey::FromBytes decides
 * (libsodium's crypto_core_ed25519_is_valid_point): 32 bytes, a canonical curve point, not
 * of small order, in the prime-order subgroup. Returns null if so, else the C++ message.
 */
export function publicKeyError(pub) {
  if (pub.length !== 32) return `public key: expected 32 bytes, got ${pub.length}`;
  const a = decompress(pub);
  if (a === null || isSmallOrder(a) || !isIdentity(multiScalarMult([[L, a]]))) {
    return 'public key: not a valid Ed25519 point (non-canonical, off the curve or small order)';
  }
  return null;
}

// For tests: the point operations, to build torsion and non-canonical cases.
export const _ed25519Internals = {
  P,
  L,
  BASE,
  padd,
  pneg,
  decompress,
  compress,
  multiScalarMult,
  isSmallOrder,
  isIdentity,
  bytesToBigLE,
  bigToBytesLE
};

// ---------------------------------------------------------------------------------------------
// Merkle log (ledger/merkle.cc): RFC 9162 leaf and node hashes, inclusion verification.
// Indices and sizes are BigInts (a log may exceed 2^32 leaves; JS bit operators are 32-bit).

export async function merkleLeafHash(entry) {
  return sha256(concatBytes(Uint8Array.of(0x00), entry));
}

export async function merkleNodeHash(left, right) {
  return sha256(concatBytes(Uint8Array.of(0x01), left, right));
}

const bitWidth = (n) => (n === 0n ? 0 : n.toString(2).length);
const popcount = (n) => n.toString(2).replace(/0/g, '').length;

/**
 * RFC 9162 §2.1.3.2: whether `proof` (32-byte Uint8Arrays, deepest sibling first) places
 * `leafHash` at `index` in a tree of `size` leaves with `root`. Resolves to {ok: true} or
 * {ok: false, error} with merkle::VerifyInclusion's message.
 */
export async function verifyInclusion(leafHash, index, size, proof, root) {
  index = BigInt(index);
  size = BigInt(size);
  const fail = (error) => ({ok: false, error: `inclusion proof: ${error}`});
  if (index >= size) return fail(`index ${index} >= size ${size}`);
  // One hash per level below where the paths to index and to the last leaf diverge, plus one
  // per left sibling on the right edge above it.
  const inner = bitWidth(index ^ (size - 1n));
  const expected = inner + popcount(index >> BigInt(inner));
  if (proof.length !== expected) return fail(`expected ${expected} hashes, got ${proof.length}`);
  let fn = index, sn = size - 1n;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0n) return fail('too many hashes');
    if ((fn & 1n) === 1n || fn === sn) {
      r = await merkleNodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {  // only when fn == sn: levels with no right sibling
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await merkleNodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) return fail('too few hashes');
  if (!bytesEqual(r, root)) {
    return fail(`computed root ${hexEncode(r)} != expected root ${hexEncode(root)}`);
  }
  return {ok: true};
}

// ---------------------------------------------------------------------------------------------
// Checkpoints: C2SP signed notes (ledger/checkpoint.cc), parsed as strictly as the C++ does.
//
//   body       := origin LF decimal(size) LF base64(root) LF *(extension LF)
//   note       := body LF 1*("— " key_name " " base64(key_id[4] || sig[64]) LF)
//   key_id     := SHA-256(key_name || LF || 0x01 || pubkey)[0:4]
//   extensions := "tds-block <height> <base64 block hash>" | "tds-epoch <epoch>" | opaque

const SIG_PREFIX = '\u2014 ';  // "— " (em dash, space)
const MAX_NOTE_BYTES = 64 * 1024;
const U64_MAX = (1n << 64n) - 1n;

const noteError = (what) => new VerifyError(`checkpoint: ${what}`);

// Decimal without sign or leading zeros, fitting in 64 bits (tlog-checkpoint); BigInt or null.
function parseDecimal(s) {
  if (!/^(0|[1-9][0-9]*)$/.test(s)) return null;
  const v = BigInt(s);
  return v <= U64_MAX ? v : null;
}

export async function noteKeyId(keyName, pubkey) {
  const d = await sha256(concatBytes(utf8Encode(keyName + '\n'), Uint8Array.of(0x01), pubkey));
  return ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
}

/**
 * Strict parse of a signed note (checkpoint::ParseSignedNote). Returns {body (string),
 * checkpoint: {origin, size, root, height, blockHash, epoch}, signatures: [{keyName, keyId,
 * signature}]} with BigInt size/height/epoch (height and epoch 0n when absent); throws a
 * VerifyError "checkpoint: ..." naming the line that is wrong.
 */
export function parseSignedNote(text) {
  if (utf8Encode(text).length > MAX_NOTE_BYTES) throw noteError('note larger than 64 KiB');
  const split = text.indexOf('\n\n');
  if (split < 0) throw noteError('no blank line between body and signatures');
  const body = text.slice(0, split + 1);
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) throw noteError('body needs origin, size and root lines');
  const cp = {origin: lines[0], size: 0n, root: null, height: 0n, blockHash: null, epoch: 0n};
  if (cp.origin === '') throw noteError('line 1: empty origin');
  cp.size = parseDecimal(lines[1]);
  if (cp.size === null) throw noteError(`line 2: tree size '${lines[1]}' is not a decimal`);
  try {
    cp.root = base64Decode(lines[2]);
  } catch (e) {
    throw noteError(`line 3: root: ${e.message}`);
  }
  if (cp.root.length !== 32) {
    throw noteError(`line 3: root: expected 32 bytes, got ${cp.root.length}`);
  }
  for (let i = 3; i < lines.length; ++i) {
    const l = lines[i];
    if (l === '') throw noteError(`line ${i + 1}: empty extension line`);
    if (l.startsWith('tds-epoch ')) {
      cp.epoch = parseDecimal(l.slice('tds-epoch '.length));
      if (cp.epoch === null || cp.epoch === 0n) {
        throw noteError(`line ${i + 1}: malformed tds-epoch extension`);
      }
      continue;
    }
    if (!l.startsWith('tds-block ')) continue;  // opaque extension
    const f = l.slice('tds-block '.length).split(' ');
    let hash = null;
    try {
      if (f.length === 2) hash = base64Decode(f[1]);
    } catch {
      hash = null;
    }
    const height = f.length === 2 ? parseDecimal(f[0]) : null;
    if (height === null || height === 0n || hash === null || hash.length !== 32) {
      throw noteError(`line ${i + 1}: malformed tds-block extension`);
    }
    cp.height = height;
    cp.blockHash = hash;
  }
  let sigs = text.slice(split + 2);
  if (sigs === '' || !sigs.endsWith('\n')) {
    throw noteError('signature block must end with a newline');
  }
  const signatures = [];
  for (let l of sigs.slice(0, -1).split('\n')) {
    if (!l.startsWith(SIG_PREFIX)) {
      throw noteError(`signature line '${l.slice(0, 40)}' does not start with an em dash`);
    }
    l = l.slice(SIG_PREFIX.length);
    const sp = l.indexOf(' ');
    if (sp <= 0) throw noteError('signature line without a key name');
    const keyName = l.slice(0, sp);
    let blob = null;
    try {
      blob = base64Decode(l.slice(sp + 1));
    } catch {
      blob = null;
    }
    if (blob === null || blob.length < 5) {
      throw noteError(`signature of '${keyName}' is not base64`);
    }
    signatures.push({
      keyName,
      keyId: ((blob[0] << 24) | (blob[1] << 16) | (blob[2] << 8) | blob[3]) >>> 0,
      signature: blob.subarray(4),
    });
  }
  return {body, checkpoint: cp, signatures};
}

/** Signatures a checkpoint of n validators needs: n - floor((n - 1) / 3) (2f + 1 of 3f + 1). */
export const quorumOf = (n) => (n === 0 ? 1 : n - Math.floor((n - 1) / 3));

/**
 * checkpoint::VerifyCheckpointBy: parses `text`, checks its origin and counts DISTINCT
 * validators ({id, key}) whose signature line (name = id, matching key id) verifies over the
 * body. Unknown signers are ignored; a known signer's bad signature is an error. Resolves to
 * {checkpoint, signers (ids, validator order)} or throws "checkpoint: ...".
 */
export async function verifyCheckpoint(text, origin, validators) {
  const note = parseSignedNote(text);
  if (note.checkpoint.origin !== origin) {
    throw noteError(`origin '${note.checkpoint.origin}' is not this data space ('${origin}')`);
  }
  const body = utf8Encode(note.body);
  const keyIds = await Promise.all(validators.map((v) => noteKeyId(v.id, v.key)));
  const good = new Set();
  for (const s of note.signatures) {
    for (let i = 0; i < validators.length; ++i) {
      const v = validators[i];
      if (v.id !== s.keyName || keyIds[i] !== s.keyId) continue;
      if (s.signature.length !== 64 || !(await ed25519Verify(v.key, body, s.signature))) {
        throw noteError(`signature of validator '${v.id}' does not verify`);
      }
      good.add(v.id);
    }
  }
  const n = validators.length, quorum = quorumOf(n);
  if (good.size < quorum) {
    throw noteError(`signed by ${good.size} of ${n} validators; a quorum is ${quorum}`);
  }
  return {
    checkpoint: note.checkpoint,
    signers: validators.map((v) => v.id).filter((id) => good.has(id))
  };
}

// ---------------------------------------------------------------------------------------------
// Genesis file (ledger/genesis.cc): the JSON form of tds.Genesis, read as strictly as
// common/config.cc does (unknown keys and wrong types refused), then validated.

const GENESIS_KEYS = {
  origin: 'string',
  members: 'array',
  version: 'uint32',
  snapshot_interval: 'uint32'
};
const MEMBER_KEYS = {
  id: 'string',
  name: 'string',
  roles: 'array',
  public_key: 'string',
  tls_cert_sha256: 'string'
};
const ROLES = ['provider', 'consumer', 'auditor', 'validator'];

function checkKeys(obj, allowed, where) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new VerifyError(`genesis: ${where || 'file'} is not a JSON object`);
  }
  for (const [k, v] of Object.entries(obj)) {
    const type = allowed[k];
    const path = where ? `${where}.${k}` : k;
    if (!type) throw new VerifyError(`genesis: unknown key '${path}'`);
    const ok = type === 'array' ? Array.isArray(v) :
        type === 'uint32'       ? Number.isInteger(v) && v >= 0 && v <= 0xffffffff :
                                  typeof v === type;
    const want = type === 'uint32' ? 'an unsigned 32-bit integer' : `a ${type}`;
    if (!ok) throw new VerifyError(`genesis: '${path}' must be ${want}`);
  }
}

const validMemberId = (id) => /^[a-z0-9][a-z0-9._-]{0,63}$/.test(id);

/**
 * Parses and validates a genesis file (GenesisInfo::Parse). Returns {origin, members: [{id,
 * roles, key (Uint8Array)}], validators: [{id, key}] in file order}; throws "genesis: ...".
 */
export function parseGenesis(text) {
  let g;
  try {
    g = JSON.parse(text);
  } catch (e) {
    throw new VerifyError(`genesis: not valid JSON: ${e.message}`);
  }
  checkKeys(g, GENESIS_KEYS, '');
  const origin = g.origin ?? '';
  if (origin === '' || origin.includes('\n') || utf8Encode(origin).length > 256) {
    throw new VerifyError('genesis: origin must be one non-empty line of at most 256 bytes');
  }
  const members = [], validators = [];
  const ids = new Set(), keys = new Set(), pins = new Set();
  (g.members ?? []).forEach((m, i) => {
    checkKeys(m, MEMBER_KEYS, `members[${i}]`);
    const id = m.id ?? '', roles = m.roles ?? [];
    const where = `genesis: member ${i} ('${id}')`;
    if (!validMemberId(id))
      throw new VerifyError(`${where}: id must match [a-z0-9][a-z0-9._-]{0,63}`);
    if (ids.has(id)) throw new VerifyError(`${where}: duplicate id`);
    if (roles.length === 0) throw new VerifyError(`${where}: no roles`);
    for (const r of roles) {
      if (!ROLES.includes(r)) {
        throw new VerifyError(
            `${where}: unknown role '${r}' (provider, consumer, auditor, validator)`);
      }
    }
    let key;
    try {
      key = hexDecode(m.public_key ?? '');
    } catch (e) {
      throw new VerifyError(`${where}: public_key: public key: ${e.message}`);
    }
    const bad = publicKeyError(key);
    if (bad) throw new VerifyError(`${where}: public_key: ${bad}`);
    if (keys.has(hexEncode(key)))
      throw new VerifyError(`${where}: public key already used by another member`);
    const pin = m.tls_cert_sha256 ?? '';
    if (pin !== '' && !/^[0-9a-f]{64}$/.test(pin)) {
      throw new VerifyError(
          `${where}: tls_cert_sha256 must be empty or 64 lowercase hex digits ` +
          '(SHA-256 of the certificate\'s DER)');
    }
    if (pin !== '' && pins.has(pin))
      throw new VerifyError(`${where}: tls_cert_sha256 already pinned by another member`);
    ids.add(id);
    keys.add(hexEncode(key));
    pins.add(pin);
    members.push({id, roles, key});
    if (roles.includes('validator')) validators.push({id, key});
  });
  if (validators.length === 0) throw new VerifyError('genesis: no member has the validator role');
  return {origin, members, validators};
}

// ---------------------------------------------------------------------------------------------
// Validator epochs (ledger/epochs.cc) and the consensus certificates they rest on
// (ledger/consensus/certificates.cc). Epoch 0 is ordered by the genesis validators; the block
// that changes who validates ends its epoch and names the next epoch's validators in its header.
// An epoch change (that header, its checkpoint, its commit proof) is checked with the keys of
// the epoch it ends. A validator set here is {origin, epoch (BigInt), validators: [{id, key}]},
// in epoch order: a vote's signer is an index into it.

const U64 = (n) => BigInt.asUintN(64, n);

// consensus::EmptyBlockInfo: an empty block's vote body
//   origin LF "tds-empty " round " " base64(parent) LF [ "tds-epoch " epoch LF ]
// and its id, SHA-256 of that body (an empty block has no BlockHeader).
async function emptyBlockInfo(origin, round, parent, epoch) {
  const epochLine = epoch === 0n ? '' : `tds-epoch ${epoch}\n`;
  const body = utf8Encode(`${origin}\ntds-empty ${round} ${base64Encode(parent)}\n${epochLine}`);
  return {id: await sha256(body), body};
}

// consensus::VerifyQuorum: `sigs` hold a quorum of distinct validators whose signatures over
// `body` verify; the first bad signer fails it. Throws "<what>: ...".
async function verifyQuorum(set, body, sigs, what) {
  const n = set.validators.length;
  if (sigs.length > n) throw new VerifyError(`${what}: more signatures than validators`);
  const signers = new Set();
  for (const sig of sigs) {
    if (signers.has(sig.signer)) {
      throw new VerifyError(`${what}: validator index ${sig.signer} signs twice`);
    }
    signers.add(sig.signer);
    if (sig.signer >= n) {
      throw new VerifyError(`${what}: signer index ${sig.signer} is not a validator`);
    }
    const v = set.validators[sig.signer];
    if (sig.signature.length !== 64 || !(await ed25519Verify(v.key, body, sig.signature))) {
      throw new VerifyError(`${what}: the signature of ${v.id} does not verify`);
    }
  }
  if (signers.size < quorumOf(n)) {
    throw new VerifyError(`${what}: ${signers.size} signatures, a quorum is ${quorumOf(n)}`);
  }
}

// consensus::VerifyCommitProof: block `id` at `round` committed in `set`'s epoch. The proof's
// path and certified child are empty blocks of the epoch, each naming the one before as parent
// at a higher round (the child at the round right after), and the child's certificate is a
// quorum of `set`. Throws "commit proof: ...".
async function verifyCommitProof(set, id, round, proof) {
  let at = id, atRound = round;
  const step = async (ref, child) => {
    if (ref.header.length !== 0) {
      throw new VerifyError('commit proof: a block after the epoch\'s end is not empty');
    }
    if (!bytesEqual(ref.parent, at) ||
        (child ? ref.round !== U64(atRound + 1n) : ref.round <= atRound)) {
      throw new VerifyError(`commit proof: block at round ${ref.round} does not follow round ${
          atRound}${child ? ' as its child' : ''}`);
    }
    const info = await emptyBlockInfo(set.origin, ref.round, at, set.epoch);
    at = info.id;
    atRound = ref.round;
    return info;
  };
  for (const ref of proof.path) await step(ref, false);
  // An absent certificate or block reads as empty, as protobuf's default instances do.
  const certified = proof.certified_child ?? decodeProto(new Uint8Array(0), QUORUM_CERT_SCHEMA);
  const child = certified.block ?? decodeProto(new Uint8Array(0), BLOCK_REF_SCHEMA);
  const info = await step(child, true);
  await verifyQuorum(set, info.body, certified.votes, 'commit proof');
}

// FromValidatorKeys: wire keys ({id, public_key}) as validators; throws on a malformed or
// repeated id or an invalid key.
function fromValidatorKeys(keys) {
  const ids = new Set();
  return keys.map((k) => {
    if (!validMemberId(k.id) || ids.has(k.id)) {
      throw new VerifyError(`validator id '${k.id}' is malformed or repeated`);
    }
    ids.add(k.id);
    const bad = publicKeyError(k.public_key);
    if (bad) throw new VerifyError(`validator '${k.id}': ${bad}`);
    return {id: k.id, key: k.public_key};
  });
}

// checkpoint::CheckpointMatchesHeader: the checkpoint names the block whose header is `header`
// (id: SHA-256 of its bytes). Returns what differs, or null.
function checkpointHeaderMismatch(cp, header, id) {
  const differs = (field, ours, theirs) => `its ${field} is ${ours}, the header's ${theirs}`;
  if (cp.height !== header.height) return differs('block height', cp.height, header.height);
  const blockHash = cp.blockHash ?? new Uint8Array(32);  // no tds-block line: zeros
  if (!bytesEqual(blockHash, id)) return differs('block hash', hexEncode(blockHash), hexEncode(id));
  if (cp.size !== header.log_size) return differs('log size', cp.size, header.log_size);
  if (!bytesEqual(cp.root, header.log_root)) {
    return differs('log root', hexEncode(cp.root), hexEncode(header.log_root));
  }
  if (cp.epoch !== header.epoch) return differs('epoch', cp.epoch, header.epoch);
  return null;
}

// VerifyEpochChange: `change` ({header, commitProof} bytes, checkpoint text) as the end of
// epoch `epoch` (BigInt), whose validators are `current`: its header is of that epoch and names
// next validators; its checkpoint carries a quorum of `current` and is of that header; its
// commit proof holds under `current`. Resolves to the next epoch's validators; throws
// "epoch <epoch> change: ...".
async function verifyEpochChange(change, origin, epoch, current) {
  try {
    return await verifyEpochChangeUnprefixed(change, origin, epoch, current);
  } catch (e) {
    if (!(e instanceof VerifyError)) throw e;
    throw new VerifyError(`epoch ${epoch} change: ${e.message}`);
  }
}

async function verifyEpochChangeUnprefixed(change, origin, epoch, current) {
  const parse = (bytes, schema, what) => {
    try {
      return decodeProto(bytes, schema);
    } catch (e) {
      if (!(e instanceof ProtoError)) throw e;
      throw new VerifyError(`${what} does not parse`);
    }
  };
  const header = parse(change.header, BLOCK_HEADER_SCHEMA, 'header');
  if (header.epoch !== epoch) throw new VerifyError(`the header is of epoch ${header.epoch}`);
  const next = fromValidatorKeys(header.next_validators);
  if (next.length === 0) throw new VerifyError('the header names no validators');
  const {checkpoint} = await verifyCheckpoint(change.checkpoint, origin, current);
  const id = await sha256(change.header);
  const mismatch = checkpointHeaderMismatch(checkpoint, header, id);
  if (mismatch) throw new VerifyError(`the checkpoint is of another block: ${mismatch}`);
  const proof = parse(change.commitProof, COMMIT_PROOF_SCHEMA, 'commit proof');
  await verifyCommitProof({origin, epoch, validators: current}, id, header.round, proof);
  return next;
}

// ValidatorsAfter: follows `changes` (epochs 0, 1, ... in order) from the genesis validators.
async function validatorsAfter(genesis, changes) {
  let current = genesis.validators;
  for (let i = 0; i < changes.length; ++i) {
    current = await verifyEpochChange(changes[i], genesis.origin, BigInt(i), current);
  }
  return current;
}

// ---------------------------------------------------------------------------------------------
// Receipts (ledger/receipt.cc).

const TX_CONTEXT = 'tds.tx.v1';
const ENVELOPE_DOMAIN = utf8Encode('tds-envelope-v1\0');
const MAX_EPOCH_CHANGES = 100000;

export const CHECK_NAMES =
    ['receipt', 'envelope', 'membership', 'epochs', 'checkpoint', 'inclusion'];

const receiptError = (what) => new VerifyError(`receipt: ${what}`);

// ReceiptFromJson: the fields that verification uses, with the same refusals.
function parseReceiptJson(text) {
  // JSON.parse accepts lone surrogate escapes, which the C++ JSON parser refuses.
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)) {
    throw receiptError('not valid JSON: invalid surrogate');
  }
  let j;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw receiptError(`not valid JSON: ${e.message}`);
  }
  if (j === null || typeof j !== 'object' || Array.isArray(j))
    throw receiptError('not a JSON object');
  const wrongType = (what) => receiptError(`wrong field type: ${what}`);
  const str = (v, what) => {
    if (typeof v !== 'string') throw wrongType(`${what} must be a string`);
    return v;
  };
  // nlohmann's j.value("version", 0): numbers truncate to int, booleans count as 0/1.
  const v = j.version;
  if (v !== undefined && typeof v !== 'number' && typeof v !== 'boolean') {
    throw wrongType('version must be a number');
  }
  if (v === undefined || Math.trunc(Number(v)) !== 1)
    throw receiptError('unsupported version (want 1)');
  for (const field of ['index', 'tree_size', 'entry', 'inclusion_proof', 'checkpoint']) {
    if (!(field in j)) throw receiptError(`missing field '${field}'`);
  }
  const unsigned = (x) => Number.isInteger(x) && x >= 0;
  if (!unsigned(j.index) || !unsigned(j.tree_size)) {
    throw receiptError('index and tree_size must be unsigned integers');
  }
  if (!Number.isSafeInteger(j.index) || !Number.isSafeInteger(j.tree_size)) {
    throw receiptError('index and tree_size above 2^53 are beyond this checker (use `tds verify`)');
  }
  const r = {
    index: BigInt(j.index),
    treeSize: BigInt(j.tree_size),
    height: unsigned(j.height) && Number.isSafeInteger(j.height) ? BigInt(j.height) : 0n,
    entry: null,
    proof: [],
    checkpoint: '',
    epochChanges: [],  // [{header, checkpoint, commitProof}]
  };
  try {
    r.entry = base64Decode(str(j.entry, 'entry'));
  } catch (e) {
    if (!(e instanceof VerifyError) || e.message.startsWith('receipt:')) throw e;
    throw receiptError(`entry: ${e.message}`);
  }
  if (!Array.isArray(j.inclusion_proof) || j.inclusion_proof.length > 64) {
    throw receiptError('inclusion_proof must be an array of at most 64 hashes');
  }
  for (const h of j.inclusion_proof) {
    let hash;
    try {
      hash = hexDecode(str(h, 'inclusion_proof hash'));
    } catch (e) {
      if (e.message.startsWith('receipt:')) throw e;
      throw receiptError(`inclusion_proof hash: ${e.message}`);
    }
    if (hash.length !== 32)
      throw receiptError(`inclusion_proof hash: expected 32 bytes, got ${hash.length}`);
    r.proof.push(hash);
  }
  r.checkpoint = str(j.checkpoint, 'checkpoint');
  if ('epoch_changes' in j) {
    const c = j.epoch_changes;
    if (!Array.isArray(c) || c.length > MAX_EPOCH_CHANGES) {
      throw receiptError(`epoch_changes must be an array of at most ${MAX_EPOCH_CHANGES}`);
    }
    for (const change of c) {
      if (change === null || typeof change !== 'object' || Array.isArray(change)) {
        throw wrongType('epoch_changes entries must be objects');
      }
      const field = (k) => {
        if (!(k in change)) throw wrongType(`epoch_changes entry has no '${k}'`);
        return str(change[k], `epoch_changes ${k}`);
      };
      const header = field('header'), proof = field('commit_proof');
      const decoded = {};
      try {
        decoded.header = base64Decode(header);
        decoded.commitProof = base64Decode(proof);
      } catch {
        throw receiptError('epoch_changes: header and commit_proof must be base64');
      }
      decoded.checkpoint = field('checkpoint');
      r.epochChanges.push(decoded);
    }
  }
  return r;
}

function envelopeSignedMessage(context, payload) {
  const c = utf8Encode(context);
  return concatBytes(ENVELOPE_DOMAIN, Uint8Array.of(c.length), c, payload);
}

// OpenEnvelope(entry, "tds.tx.v1") and the Transaction parse. Errors are VerifyReceipt's
// messages: "envelope: " + OpenEnvelope's message (which may itself start "envelope: ").
async function openTransaction(entry) {
  try {
    return await openTransactionUnprefixed(entry);
  } catch (e) {
    if (!(e instanceof VerifyError)) throw e;
    throw new VerifyError(`envelope: ${e.message}`);
  }
}

async function openTransactionUnprefixed(entry) {
  let env;
  try {
    env = decodeProto(entry, ENVELOPE_SCHEMA);
  } catch (e) {
    if (!(e instanceof ProtoError)) throw e;
    throw new VerifyError('envelope: not a valid Envelope message');
  }
  if (env.context !== TX_CONTEXT) {
    throw new VerifyError(
        `envelope: context is '${cHexEscape(env.context)}', expected '${TX_CONTEXT}'`);
  }
  if (env.signature.length !== 64) {
    throw new VerifyError(`envelope signature: expected 64 bytes, got ${env.signature.length}`);
  }
  const bad = publicKeyError(env.signer);
  if (bad) throw new VerifyError(`envelope signer: ${bad}`);
  if (!(await ed25519Verify(
          env.signer, envelopeSignedMessage(env.context, env.payload), env.signature))) {
    throw new VerifyError('envelope signature: does not verify');
  }
  let tx;
  try {
    tx = decodeProto(env.payload, TRANSACTION_SCHEMA);
  } catch (e) {
    if (!(e instanceof ProtoError)) throw e;
    throw new VerifyError('payload is not a Transaction');
  }
  return {signer: env.signer, payload: env.payload, tx};
}

const short = (bytes) => hexEncode(bytes).slice(0, 16) + '…';

/**
 * Verifies a receipt (JSON text, docs/formats.md "Receipt JSON") against a genesis file (JSON
 * text), as ledger::VerifyReceipt does. Resolves to
 *   {ok, txid (hex or null), checks: [{name, ok, detail}], summary}
 * with one check per CHECK_NAMES entry, in that order: ok true (detail: what it established),
 * false (detail: what failed; the C++ message is `${name}: ${detail}`) or null (not reached,
 * after the first failure). Never throws for bad input.
 */
export async function verifyReceipt(receiptJsonText, genesisJsonText) {
  const checks = [];
  let failed = null;
  let txid = null;
  // Runs one check unless an earlier one failed; a VerifyError fails it with its message.
  const run = async (name, fn) => {
    if (failed) return undefined;
    try {
      const {value, detail} = await fn();
      checks.push({name, ok: true, detail});
      return value;
    } catch (e) {
      // A VerifyError's message is the C++ one, "<name>: <detail>" (genesis errors excepted).
      const message = e instanceof VerifyError ? e.message : `internal error: ${e?.stack || e}`;
      const prefix = `${name}: `;
      failed = {name, detail: message.startsWith(prefix) ? message.slice(prefix.length) : message};
      checks.push({name, ok: false, detail: failed.detail});
      return undefined;
    }
  };

  const input = await run('receipt', async () => {
    subtle();
    const genesis = parseGenesis(genesisJsonText);
    const r = parseReceiptJson(receiptJsonText);
    return {
      value: {genesis, r},
      detail: `version 1 receipt for index ${r.index} in a tree of ${r.treeSize} (block ` +
          `${r.height}); genesis '${genesis.origin}' with ${genesis.members.length} members`,
    };
  });

  // 1. The envelope and its signature, over the exact bytes carried.
  const opened = await run('envelope', async () => {
    const o = await openTransaction(input.r.entry);
    txid = hexEncode(await sha256(o.payload));
    return {
      value: o,
      detail: `tds.tx.v1 envelope, signature by key ${short(o.signer)} verifies; transaction ` +
          `'${o.tx.type}' from '${o.tx.submitter}', txid ${txid}`,
    };
  });

  // 2. The named submitter is a genesis member, and it is their key that signed.
  const submitter = await run('membership', async () => {
    const {members} = input.genesis;
    const m = members.find((x) => x.id === opened.tx.submitter);
    if (!m) throw new VerifyError(`membership: submitter '${opened.tx.submitter}' is not a member`);
    const byKey = members.find((x) => bytesEqual(x.key, opened.signer));
    if (byKey !== m)
      throw new VerifyError(`membership: envelope was not signed by member '${m.id}'s key`);
    return {
      value: m.id,
      detail: `'${m.id}' (${m.roles.join(', ')}) is a genesis member and signed with its key`
    };
  });

  // 3. The validators of the checkpoint's epoch, from genesis through each epoch change. C++
  // then decides the checkpoint's own checks (parse, origin, signatures, height) before its
  // epoch count, so they are computed here and reported in check order.
  const changes = input ? input.r.epochChanges.length : 0;
  let validators = [], cpResult = null;
  await run('epochs', async () => {
    validators = await validatorsAfter(input.genesis, input.r.epochChanges);
    try {
      const v = await verifyCheckpoint(input.r.checkpoint, input.genesis.origin, validators);
      const cp = v.checkpoint;
      if (cp.height !== 0n && cp.height !== input.r.height) {
        throw new VerifyError(`checkpoint: receipt names block ${
            input.r.height} but the checkpoint is of block ${cp.height}`);
      }
      cpResult = {ok: true, ...v};
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e;
      cpResult = {ok: false, error: e};
    }
    if (cpResult.ok && cpResult.checkpoint.epoch !== BigInt(changes)) {
      throw new VerifyError(
          `epochs: the checkpoint is of validator epoch ${cpResult.checkpoint.epoch} ` +
          `but the receipt carries ${changes} epoch change(s)`);
    }
    const names = validators.map((x) => x.id).join(', ');
    const quorum = quorumOf(validators.length);
    return {
      detail: changes === 0 ?
          `validators of epoch 0 (genesis): ${validators.length} (${names}), quorum ${quorum}` :
          `${changes} epoch change(s) verified: epoch ${changes} validators: ${names} ` +
              `(quorum ${quorum})`
    };
  });
  const n = validators.length, quorum = quorumOf(n);

  // 4. The checkpoint: origin, a quorum of signatures, block height, size.
  const cp = await run('checkpoint', async () => {
    if (!cpResult.ok) throw cpResult.error;
    const c = cpResult.checkpoint;
    if (c.size !== input.r.treeSize) {
      throw new VerifyError(`checkpoint: checkpoint covers ${
          c.size} entries but the proof is for tree size ${input.r.treeSize}`);
    }
    const block = c.height === 0n ? 'no tds-block line' : `block ${c.height}`;
    return {
      value: c,
      detail: `signed by ${cpResult.signers.length} of ${n} validators of epoch ${changes}: ` +
          `${cpResult.signers.join(', ')} (quorum ${quorum}); origin '${c.origin}', ` +
          `${c.size} entries, ${block}`,
    };
  });

  // 5. Inclusion of this exact entry under the checkpoint's root.
  await run('inclusion', async () => {
    const leaf = await merkleLeafHash(input.r.entry);
    const v = await verifyInclusion(leaf, input.r.index, input.r.treeSize, input.r.proof, cp.root);
    if (!v.ok) throw new VerifyError(`inclusion: ${v.error}`);
    return {detail: `leaf ${input.r.index} of ${input.r.treeSize} under root ${short(cp.root)}`};
  });

  for (const name of CHECK_NAMES.slice(checks.length)) {
    checks.push({name, ok: null, detail: 'not reached'});
  }
  if (failed) {
    return {ok: false, txid, checks, summary: `FAILED: ${failed.name}: ${failed.detail}`};
  }
  // As `tds verify` prints it (sdk/cli).
  return {
    ok: true,
    txid,
    checks,
    summary: `OK: tx ${txid} by ${submitter} at index ${input.r.index} in tree of ` +
        `${input.r.treeSize} (block ${input.r.height}), checkpoint signed by a quorum of ` +
        `validators (${quorum} of ${n})`,
  };
}
