import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.domain.backup_crypto import (
    MIN_CHUNK_SIZE,
    TAG_BYTES,
    decode_key,
    decrypt_archive,
    decrypt_stream,
    encrypt_archive,
    encrypt_stream,
    generate_key,
)
from compliance.domain.errors import IntegrityError, InvalidInput

PROPERTY = settings(database=None, deadline=None, max_examples=100)
KEY = bytes(range(32))
META = {"service": "compliance", "created_at": "2024-05-01T00:00:00Z", "tables": ["audit_entries", "people"]}
CHUNK = MIN_CHUNK_SIZE
HEADER_BYTES = 52 + len(
    b'{"created_at":"2024-05-01T00:00:00Z","service":"compliance","tables":["audit_entries","people"]}'
)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5])
def test_round_trip_at_chunk_boundaries(size):
    plaintext = os.urandom(size)
    blob = encrypt_archive(plaintext, KEY, META, chunk_size=CHUNK)
    chunks = max(1, -(-size // CHUNK))
    assert len(blob) == HEADER_BYTES + size + chunks * TAG_BYTES
    assert decrypt_archive(blob, KEY) == (META, plaintext)


def test_default_chunking_and_no_plaintext_in_the_output():
    plaintext = b"employee 1003 rating A " * 1000
    blob = encrypt_archive(plaintext, KEY, {})
    assert b"rating" not in blob
    assert decrypt_archive(blob, KEY) == ({}, plaintext)


def test_each_archive_is_encrypted_differently():
    assert encrypt_archive(b"same", KEY, META) != encrypt_archive(b"same", KEY, META)


def test_streaming_with_short_reads():
    class Trickle(io.RawIOBase):
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = self.data.read(min(len(buffer), 5))
            buffer[: len(chunk)] = chunk
            return len(chunk)

        def read(self, size=-1):
            return self.data.read(min(size, 5))

    plaintext = os.urandom(10 * CHUNK + 3)
    sealed = io.BytesIO()
    encrypt_stream(Trickle(plaintext), sealed, KEY, META, chunk_size=CHUNK)
    restored = io.BytesIO()
    assert decrypt_stream(Trickle(sealed.getvalue()), restored, KEY) == META
    assert restored.getvalue() == plaintext


def test_wrong_key_is_named_as_such():
    blob = encrypt_archive(b"secret", KEY, META)
    with pytest.raises(IntegrityError, match="wrong key"):
        decrypt_archive(blob, bytes(32))


def _chunked(size=4 * CHUNK):
    return encrypt_archive(os.urandom(size), KEY, META, chunk_size=CHUNK)


def test_truncation_at_a_chunk_boundary_is_detected():
    blob = _chunked()
    sealed = CHUNK + TAG_BYTES
    for chunks in range(4):
        with pytest.raises(IntegrityError, match="failed authentication"):
            decrypt_archive(blob[: HEADER_BYTES + chunks * sealed], KEY)


def test_reordered_dropped_and_appended_chunks_are_detected():
    blob = _chunked()
    sealed = CHUNK + TAG_BYTES
    header, body = blob[:HEADER_BYTES], blob[HEADER_BYTES:]
    chunks = [body[i : i + sealed] for i in range(0, len(body), sealed)]
    for forged in (
        header + chunks[1] + chunks[0] + b"".join(chunks[2:]),
        header + chunks[0] + b"".join(chunks[2:]),
        blob + chunks[-1],
        blob + b"\x00",
    ):
        with pytest.raises(IntegrityError):
            decrypt_archive(forged, KEY)


@pytest.mark.parametrize(
    ("offset", "message"),
    [(0, "not a Jixiao backup"), (4, "unsupported archive version"), (8, "header is corrupt|failed authentication"),
     (20, "wrong key"), (30, "failed authentication"), (40, "wrong key"), (49, "header is corrupt|truncated"),
     (60, "failed authentication")],
)  # fmt: skip
def test_header_and_metadata_tampering_is_detected(offset, message):
    blob = bytearray(_chunked())
    blob[offset] ^= 0x01
    with pytest.raises(IntegrityError, match=message):
        decrypt_archive(bytes(blob), KEY)


def test_a_tampered_chunk_returns_nothing_and_the_stream_stops_before_it():
    blob = bytearray(_chunked())
    blob[HEADER_BYTES + 2 * (CHUNK + TAG_BYTES) + 7] ^= 0x80
    with pytest.raises(IntegrityError, match="chunk 2"):
        decrypt_archive(bytes(blob), KEY)
    staged = io.BytesIO()
    with pytest.raises(IntegrityError):
        decrypt_stream(io.BytesIO(bytes(blob)), staged, KEY)
    assert len(staged.getvalue()) == 2 * CHUNK  # only authenticated chunks were written


def test_empty_and_short_inputs():
    for blob in (b"", b"JXBK", b"JXBK\x01" + b"\x00" * 10):
        with pytest.raises(IntegrityError):
            decrypt_archive(blob, KEY)
    header_only = _chunked()[:HEADER_BYTES]
    with pytest.raises(IntegrityError):
        decrypt_archive(header_only, KEY)


def test_key_and_argument_validation():
    for bad in (b"short", "x" * 32):
        with pytest.raises(InvalidInput):
            encrypt_archive(b"x", bad, {})
    with pytest.raises(InvalidInput):
        encrypt_archive(b"x", KEY, {}, chunk_size=16)
    with pytest.raises(InvalidInput):
        encrypt_archive(b"x", KEY, ["not", "an", "object"])
    with pytest.raises(InvalidInput):
        encrypt_archive(b"x", KEY, {"big": "x" * (1 << 20)})
    with pytest.raises(InvalidInput):
        encrypt_archive(b"x", KEY, {"naive": __import__("datetime").datetime(2024, 1, 1)})


def test_keys_from_base64():
    text = generate_key()
    key = decode_key(text)
    assert len(key) == 32
    assert decrypt_archive(encrypt_archive(b"x", key, {}), decode_key(text + "\n")) == ({}, b"x")
    for bad in ("not base64!", "c2hvcnQ="):
        with pytest.raises(InvalidInput):
            decode_key(bad)


archives = st.tuples(
    st.binary(max_size=700),
    st.dictionaries(st.text(max_size=5), st.text(max_size=10) | st.integers(), max_size=3),
    st.integers(MIN_CHUNK_SIZE, 200),
)


@PROPERTY
@given(archives)
def test_round_trip(archive):
    plaintext, metadata, chunk_size = archive
    assert decrypt_archive(encrypt_archive(plaintext, KEY, metadata, chunk_size=chunk_size), KEY) == (
        metadata,
        plaintext,
    )


@PROPERTY
@given(archives, st.data())
def test_any_single_byte_change_is_detected(archive, data):
    plaintext, metadata, chunk_size = archive
    blob = bytearray(encrypt_archive(plaintext, KEY, metadata, chunk_size=chunk_size))
    blob[data.draw(st.integers(0, len(blob) - 1))] ^= data.draw(st.integers(1, 255))
    with pytest.raises(IntegrityError):
        decrypt_archive(bytes(blob), KEY)


@PROPERTY
@given(archives, st.data())
def test_any_truncation_is_detected(archive, data):
    plaintext, metadata, chunk_size = archive
    blob = encrypt_archive(plaintext, KEY, metadata, chunk_size=chunk_size)
    with pytest.raises(IntegrityError):
        decrypt_archive(blob[: data.draw(st.integers(0, len(blob) - 1))], KEY)
