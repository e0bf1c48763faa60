"""Member key files (the format of common/keys.cc).

    keyfile := "tds-ed25519-secret-v1" LF
               "seed " hex64 LF       ; the 32-byte Ed25519 seed (RFC 8032 secret key)
               "public " hex64 LF     ; the public key derived from the seed
    hex64   := 64 hex digits (written lowercase; either case accepted on read)

The final LF may be missing; nothing else may follow. As in C++, a file readable or writable
by group or others is refused, and so is one whose public line does not match its seed.
Errors never echo the file's content (it holds the secret).
"""

import os
import stat

import nacl.signing

_MAGIC = "tds-ed25519-secret-v1"
_MAX_BYTES = 512


class KeyFileError(Exception):
    """A key file that cannot be used; the message names the path and the check."""


def _hex32(text, what, path):
    if len(text) != 64:
        raise KeyFileError(f"key file {path}: {what}: expected 64 hex digits")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise KeyFileError(f"key file {path}: {what}: not hex") from None


def load_key_file(path):
    """Returns the nacl.signing.SigningKey stored in `path`."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise KeyFileError(f"key file {path}: {e.strerror}") from None
    if st.st_mode & 0o077:
        raise KeyFileError(
            f"key file {path} is readable or writable by group or others "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); run chmod 600 {path}")
    with open(path, "rb") as f:
        raw = f.read(_MAX_BYTES + 1)
    if len(raw) > _MAX_BYTES:
        raise KeyFileError(f"key file {path}: larger than {_MAX_BYTES} bytes, not a key file")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError(f"key file {path}: not ASCII text") from None
    if text.endswith("\n"):
        text = text[:-1]
    lines = text.split("\n")
    if len(lines) != 3 or lines[0] != _MAGIC:
        raise KeyFileError(f"key file {path}: expected the {_MAGIC} format (3 lines)")
    if not lines[1].startswith("seed ") or not lines[2].startswith("public "):
        raise KeyFileError(f"key file {path}: expected a 'seed' line then a 'public' line")
    seed = _hex32(lines[1][len("seed "):], "seed", path)
    public = _hex32(lines[2][len("public "):], "public", path)
    key = nacl.signing.SigningKey(seed)
    if bytes(key.verify_key) != public:
        raise KeyFileError(f"key file {path}: public key does not match the seed (corrupt file?)")
    return key
