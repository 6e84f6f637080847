"""Encrypted backup archives: AES-256-GCM in authenticated chunks, readable as a stream.

Format, version 1 (all integers unsigned big-endian):

    magic "JXBK" | version u8 = 1 | chunk_size u32 | salt 16 | nonce_prefix 7 | key_check 16
    | metadata_length u32 | metadata (canonical JSON object) | chunk 0 | chunk 1 | ... | final chunk

- The archive key is derived per archive: HKDF-SHA256(master key, salt, "jixiao backup v1") gives
  48 bytes: the AES key, then `key_check`, which tells a wrong key apart from tampering.
- Chunk i encrypts `chunk_size` plaintext bytes (the final chunk fewer, possibly none) under nonce
  nonce_prefix | i as u32 | 1 if final else 0, with the whole header as associated data. This is the
  STREAM construction: dropping, reordering or appending chunks, or cutting the archive at a chunk
  boundary, makes a chunk fail authentication, and so does any change to the header or metadata.
- Metadata is authenticated but NOT encrypted: never put personal data or secrets in it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import json
import os
import struct
from collections.abc import Mapping
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from compliance.domain.canonical import canonical_json
from compliance.domain.errors import IntegrityError, InvalidInput

MAGIC = b"JXBK"
VERSION = 1
KEY_BYTES = 32
TAG_BYTES = 16
DEFAULT_CHUNK_SIZE = 1 << 20
MIN_CHUNK_SIZE = 64
MAX_CHUNK_SIZE = 64 << 20
MAX_METADATA_BYTES = 1 << 20
_FIXED = struct.Struct(">4sBI16s7s16sI")  # the header up to and including metadata_length
_INFO = b"jixiao backup v1"


def generate_key() -> str:
    """A new master key, base64 text, for the environment / secret store."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def decode_key(text: str) -> bytes:
    """The 32-byte master key from its base64 text."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput.at(("key",), "the backup key is not base64") from None
    _check_key(key)
    return key


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise InvalidInput.at(("key",), f"the backup key must be {KEY_BYTES} bytes")


def _derive(key: bytes, salt: bytes) -> tuple[AESGCM, bytes]:
    material = HKDF(algorithm=hashes.SHA256(), length=48, salt=salt, info=_INFO).derive(key)
    return AESGCM(material[:32]), material[32:]


def _nonce(prefix: bytes, counter: int, final: bool) -> bytes:
    return prefix + struct.pack(">IB", counter, final)


def _read_full(stream: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes, fewer only at end of stream (pipes may return short reads)."""
    parts = []
    while size > 0:
        part = stream.read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def encrypt_stream(
    source: BinaryIO, target: BinaryIO, key: bytes, metadata: Mapping[str, Any], *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> None:
    """Encrypt everything `source` yields into `target`, one chunk in memory at a time."""
    _check_key(key)
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise InvalidInput.at(("chunk_size",), f"chunk size must be {MIN_CHUNK_SIZE} to {MAX_CHUNK_SIZE} bytes")
    if not isinstance(metadata, Mapping):
        raise InvalidInput.at(("metadata",), "metadata must be an object")
    meta = canonical_json(metadata)
    if len(meta) > MAX_METADATA_BYTES:
        raise InvalidInput.at(("metadata",), "metadata is larger than 1 MiB")
    salt, prefix = os.urandom(16), os.urandom(7)
    aead, key_check = _derive(key, salt)
    header = _FIXED.pack(MAGIC, VERSION, chunk_size, salt, prefix, key_check, len(meta)) + meta
    target.write(header)
    counter = 0
    chunk = _read_full(source, chunk_size)
    while True:
        following = _read_full(source, chunk_size) if len(chunk) == chunk_size else b""
        final = not following
        target.write(aead.encrypt(_nonce(prefix, counter, final), chunk, header))
        if final:
            return
        counter += 1
        if counter > 0xFFFFFFFF:
            raise InvalidInput.at(("source",), "too large for this chunk size")
        chunk = following


def decrypt_stream(source: BinaryIO, target: BinaryIO, key: bytes) -> dict[str, Any]:
    """Decrypt into `target`, writing each chunk only after it authenticates; returns the metadata.

    On IntegrityError `target` may hold the authentic chunks before the bad one: restore into a
    staging file and discard it on error. `decrypt_archive` never returns partial plaintext.
    """
    _check_key(key)
    fixed = _read_full(source, _FIXED.size)
    if len(fixed) < _FIXED.size or not fixed.startswith(MAGIC):
        raise IntegrityError("not a Jixiao backup archive")
    _, version, chunk_size, salt, prefix, key_check, meta_length = _FIXED.unpack(fixed)
    if version != VERSION:
        raise IntegrityError(f"unsupported archive version {version}")
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE or meta_length > MAX_METADATA_BYTES:
        raise IntegrityError("the archive header is corrupt")
    meta = _read_full(source, meta_length)
    if len(meta) < meta_length:
        raise IntegrityError("the archive is truncated inside its header")
    header = fixed + meta
    aead, expected_check = _derive(key, salt)
    if not hmac.compare_digest(key_check, expected_check):
        raise IntegrityError("wrong key for this archive (or its header is corrupt)")

    sealed_size = chunk_size + TAG_BYTES
    counter = 0
    chunk = _read_full(source, sealed_size)
    while True:
        following = _read_full(source, sealed_size) if len(chunk) == sealed_size else b""
        final = not following
        try:
            target.write(aead.decrypt(_nonce(prefix, counter, final), chunk, header))
        except InvalidTag:
            raise IntegrityError(
                f"chunk {counter} failed authentication: the archive is tampered or truncated"
            ) from None
        if final:
            break
        counter += 1
        chunk = following
    try:
        metadata = json.loads(meta)
    except (UnicodeDecodeError, json.JSONDecodeError):  # authentic, so only a bug could write this
        raise IntegrityError("the archive metadata is not JSON") from None
    if not isinstance(metadata, dict):
        raise IntegrityError("the archive metadata is not a JSON object")
    return metadata


def encrypt_archive(
    plaintext: bytes, key: bytes, metadata: Mapping[str, Any], *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> bytes:
    target = io.BytesIO()
    encrypt_stream(io.BytesIO(plaintext), target, key, metadata, chunk_size=chunk_size)
    return target.getvalue()


def decrypt_archive(blob: bytes, key: bytes) -> tuple[dict[str, Any], bytes]:
    """(metadata, plaintext) of a whole archive, or IntegrityError; never partial plaintext."""
    target = io.BytesIO()
    metadata = decrypt_stream(io.BytesIO(blob), target, key)
    return metadata, target.getvalue()
