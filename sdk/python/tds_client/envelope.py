"""Signed envelopes, byte for byte as common/envelope.h makes them.

    signed message := "tds-envelope-v1" 0x00 || u8 len(context) || context || payload

An Envelope (proto/envelope.proto) carries the exact payload bytes, the signer's 32-byte
Ed25519 public key and the 64-byte signature. A signature under one context never verifies
under another.
"""

import nacl.exceptions
import nacl.signing

from proto import envelope_pb2

TX_CONTEXT = "tds.tx.v1"
QUERY_CONTEXT = "tds.query.v1"
_DOMAIN = b"tds-envelope-v1\x00"


class EnvelopeError(Exception):
    """An envelope that does not open; the message names the failed check."""


def signed_message(context, payload):
    """The bytes an envelope signature covers."""
    ctx = context.encode("utf-8")
    if not 1 <= len(ctx) <= 255:
        raise ValueError(f"context must be 1..255 bytes, got {len(ctx)}")
    return _DOMAIN + bytes([len(ctx)]) + ctx + payload


def seal_envelope(signing_key, context, payload):
    """Signs `payload` (bytes) under `context`; returns the serialized tds.Envelope."""
    signature = signing_key.sign(signed_message(context, payload)).signature
    env = envelope_pb2.Envelope(context=context, payload=payload,
                                signer=bytes(signing_key.verify_key), signature=signature)
    return env.SerializeToString()


def open_envelope(envelope_bytes, expected_context):
    """Parses and verifies a serialized envelope; returns (payload, signer public key bytes)."""
    env = envelope_pb2.Envelope()
    try:
        env.ParseFromString(envelope_bytes)
    except Exception:  # protobuf's DecodeError differs between implementations
        raise EnvelopeError("envelope: does not parse as a tds.Envelope") from None
    if env.context != expected_context:
        raise EnvelopeError(
            f"envelope context: expected {expected_context!r}, got {env.context!r}")
    if len(env.signer) != 32:
        raise EnvelopeError(f"envelope signer: expected 32 bytes, got {len(env.signer)}")
    if len(env.signature) != 64:
        raise EnvelopeError(f"envelope signature: expected 64 bytes, got {len(env.signature)}")
    try:
        nacl.signing.VerifyKey(env.signer).verify(
            signed_message(env.context, env.payload), env.signature)
    except (nacl.exceptions.BadSignatureError, ValueError):
        raise EnvelopeError("envelope signature: does not verify") from None
    return env.payload, env.signer
