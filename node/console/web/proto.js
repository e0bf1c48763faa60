// Protobuf wire-format reader for the console's two decoders: verify.js (tds.Envelope and
// tds.Transaction inside a receipt; an epoch change's tds.BlockHeader and tds.CommitProof) and
// terms.js (a contract's tds.Terms bytes). It decodes a message against a small schema the way
// the C++ parser (protobuf 3.21, proto3) does: it accepts exactly what ParseFromString accepts,
// so the receipt checker can never pass bytes the node would refuse (web/test/verify_test.mjs
// checks this against the C++ verifier).
//   - fields in any order; a non-repeated scalar seen twice: the last one wins; a non-repeated
//     message seen twice: the two are merged; a repeated field: one element per occurrence;
//   - unknown fields skipped, including a known field number with another wire type, and
//     groups (wire types 3/4, nested, matched by field number);
//   - refused (ProtoError): truncation anywhere, field number 0, wire types 6 and 7, an
//     end-group tag outside its group, varints over 10 bytes, lengths >= 2^31, tags >= 2^32,
//     invalid UTF-8 in a `string` field, nesting deeper than protobuf's recursion limit.

export class ProtoError extends Error {}

const MAX_DEPTH = 100;  // protobuf's default recursion limit (messages and groups)

// Returns [value (BigInt, low 64 bits as protobuf keeps them), next position].
function readVarint(buf, pos, maxBytes = 10) {
  let value = 0n;
  for (let i = 0; i < maxBytes; ++i) {
    if (pos >= buf.length) throw new ProtoError('truncated varint');
    const b = buf[pos++];
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) return [BigInt.asUintN(64, value), pos];
  }
  throw new ProtoError(`varint longer than ${maxBytes} bytes`);
}

function readTag(buf, pos) {
  const [tag, next] = readVarint(buf, pos, 5);
  if (tag > 0xffffffffn) throw new ProtoError('tag does not fit in 32 bits');
  const field = Number(tag >> 3n);
  if (field === 0) throw new ProtoError('field number 0');
  return [field, Number(tag & 7n), next];
}

// A length prefix: at most 5 bytes, < 2^31, and within the buffer. Returns [length, start].
function readLength(buf, pos) {
  const [len, start] = readVarint(buf, pos, 5);
  if (len >= 0x80000000n) throw new ProtoError('length too large');
  if (Number(len) > buf.length - start) throw new ProtoError('truncated length-delimited field');
  return [Number(len), start];
}

// Skips one field's value of `wireType`; returns the next position.
function skipField(buf, pos, field, wireType, depth) {
  switch (wireType) {
    case 0:
      return readVarint(buf, pos)[1];
    case 1:
    case 5: {
      const n = wireType === 1 ? 8 : 4;
      if (buf.length - pos < n) throw new ProtoError('truncated fixed-width field');
      return pos + n;
    }
    case 2: {
      const [len, start] = readLength(buf, pos);
      return start + len;
    }
    case 3: {
      if (depth >= MAX_DEPTH) throw new ProtoError('groups nested too deeply');
      for (;;) {
        if (pos >= buf.length) throw new ProtoError('truncated group');
        const [f, w, next] = readTag(buf, pos);
        if (w === 4) {
          if (f !== field) throw new ProtoError('end-group tag of another group');
          return next;
        }
        pos = skipField(buf, next, f, w, depth + 1);
      }
    }
    case 4:
      throw new ProtoError('end-group tag outside a group');
    default:
      throw new ProtoError(`invalid wire type ${wireType}`);
  }
}

/** Strict UTF-8 decoding (protobuf's proto3 string check, a BOM kept as text): null if invalid. */
function utf8DecodeStrict(bytes) {
  try {
    return new TextDecoder('utf-8', {fatal: true, ignoreBOM: true}).decode(bytes);
  } catch {
    return null;
  }
}

// The wire type a field of `type` is read from: varint or length-delimited.
const wireOf = (type) => (type === 'string' || type === 'bytes' || type === 'message' ? 2 : 0);

// The proto3 default of a field; repeated fields start empty, an absent message is null.
function defaults(schema) {
  const out = {};
  for (const [name, type, repeated] of Object.values(schema)) {
    // Packed repeated scalars (wire type 2) are not read: no schema of ours has one.
    if (repeated && wireOf(type) === 0) throw new Error(`proto schema: repeated ${type} ${name}`);
    if (repeated)
      out[name] = [];
    else if (type === 'string')
      out[name] = '';
    else if (type === 'bytes')
      out[name] = new Uint8Array(0);
    else if (type === 'int64' || type === 'uint64')
      out[name] = 0n;
    else if (type === 'message')
      out[name] = null;
    else
      out[name] = 0;  // uint32, int32, enum
  }
  return out;
}

// One length-delimited or varint value of a known field, as its JS value.
function fieldValue(raw, name, type, nested, into, depth) {
  switch (type) {
    case 'string': {
      const s = utf8DecodeStrict(raw);
      if (s === null) throw new ProtoError(`field '${name}' is not valid UTF-8`);
      return s;
    }
    case 'bytes':
      return raw;
    case 'message':
      return decodeInto(into || defaults(nested), raw, nested, depth + 1);
    case 'int64':
      return BigInt.asIntN(64, raw);
    case 'uint64':
      return raw;
    case 'uint32':
      return Number(BigInt.asUintN(32, raw));
    case 'int32':
    case 'enum':
      return Number(BigInt.asIntN(32, raw));
    default:
      throw new Error(`proto schema: field '${name}' has unknown type '${type}'`);
  }
}

function decodeInto(out, buf, schema, depth) {
  if (depth >= MAX_DEPTH) throw new ProtoError('messages nested too deeply');
  let pos = 0;
  while (pos < buf.length) {
    const [field, wireType, next] = readTag(buf, pos);
    pos = next;
    const known = schema[field];
    if (!known || wireType !== wireOf(known[1])) {
      pos = skipField(buf, pos, field, wireType, depth);
      continue;
    }
    const [name, type, repeated, nested] = known;
    let raw;
    if (wireType === 0) {
      [raw, pos] = readVarint(buf, pos);
    } else {
      const [len, start] = readLength(buf, pos);
      raw = buf.subarray(start, start + len);
      pos = start + len;
    }
    if (repeated)
      out[name].push(fieldValue(raw, name, type, nested, null, depth));
    else
      out[name] = fieldValue(raw, name, type, nested, out[name], depth);
  }
  return out;
}

/**
 * Decodes the message in `buf` (Uint8Array) whose fields are `schema`:
 *   {number: [name, type, repeated?, nested?]}
 * type one of 'string', 'bytes', 'int64', 'uint64' (BigInt values), 'uint32', 'int32', 'enum'
 * (numbers; `nested` lists the enum's value names, for protoJson), 'message' (`nested` is its
 * schema). Absent fields take proto3 defaults (an absent message: null). Throws ProtoError when the
 * C++ parser would refuse the bytes.
 */
export function decodeProto(buf, schema) {
  return decodeInto(defaults(schema), buf, schema, 0);
}

function bytesToBase64(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * A decodeProto result in the shape of the API's proto3 JSON (console_api.h): 64-bit integers
 * as decimal strings, enums by name (an unknown value as its number in a string), bytes as
 * base64, every field present (an absent message: null).
 */
export function protoJson(msg, schema) {
  const out = {};
  for (const [name, type, repeated, nested] of Object.values(schema)) {
    const json = (v) => {
      if (type === 'message') return protoJson(v, nested);
      if (type === 'enum') return nested[v] ?? String(v);
      if (type === 'bytes') return bytesToBase64(v);
      return typeof v === 'bigint' ? v.toString() : v;
    };
    const v = msg[name];
    out[name] = repeated ? v.map(json) : v === null ? null : json(v);
  }
  return out;
}
