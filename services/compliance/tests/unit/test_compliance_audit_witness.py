"""The witness format and the signed anchor (issue 10 item 2), without a database."""
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from compliance.domain.audit_chain import (
    ChainHead,
    WitnessRecord,
    anchor_is_authentic,
    checkpoint_is_authentic,
    parse_witness,
    sign_anchor,
    sign_checkpoint,
    witness_line,
)

KEYS = {"k1": b"k" * 32}
NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


@given(st.integers(min_value=1, max_value=10**12), st.text("0123456789abcdef", min_size=64, max_size=64))
def test_witness_lines_read_back_as_the_authentic_records_they_were(sequence, entry_hash):
    head = ChainHead(sequence, entry_hash)
    records = [WitnessRecord("checkpoint", sign_checkpoint(head, NOW, KEYS["k1"], "k1")),
               WitnessRecord("anchor", sign_anchor(head, NOW, KEYS["k1"], "k1"))]
    assert parse_witness([witness_line(r) for r in records], KEYS) == (records, 0)


def test_an_anchor_and_a_checkpoint_cannot_stand_for_each_other():
    head = ChainHead(7, "a" * 64)
    anchor = sign_anchor(head, NOW, KEYS["k1"], "k1")
    checkpoint = sign_checkpoint(head, NOW, KEYS["k1"], "k1")
    assert anchor_is_authentic(anchor, KEYS) and checkpoint_is_authentic(checkpoint, KEYS)
    assert not checkpoint_is_authentic(anchor, KEYS) and not anchor_is_authentic(checkpoint, KEYS)
    assert not anchor_is_authentic(anchor, {"k1": b"x" * 32})  # another key: never trusted


def test_forged_edited_and_unreadable_lines_are_counted_never_trusted():
    good = WitnessRecord("checkpoint", sign_checkpoint(ChainHead(3, "b" * 64), NOW, KEYS["k1"], "k1"))
    edited = witness_line(good).replace('"sequence":3', '"sequence":4')
    unknown_key = witness_line(WitnessRecord("checkpoint", sign_checkpoint(ChainHead(5, "c" * 64), NOW,
                                                                              b"z" * 32, "k9")))
    records, rejected = parse_witness([witness_line(good), edited, unknown_key, "{not json", "", '{"kind":1}'],
                                      KEYS)
    assert records == [good] and rejected == 4
