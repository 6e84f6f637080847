"""The verifier's fast path rebuilds exactly the bytes the chain hashed, from the stored columns."""
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.domain.audit_chain import GENESIS, AuditEvent, seal
from compliance.domain.canonical import utc_text
from compliance.usecases.audit import StoredEntry, _entry_row, audit_event

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | text,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                           max_leaves=10)


@settings(database=None, deadline=None, max_examples=200)
@given(actor=st.none() | text, subject=st.none() | text, data=st.dictionaries(text, json_values, max_size=4),
       before=st.none() | st.dictionaries(text, json_values, max_size=2),
       after=st.none() | st.dictionaries(text, json_values, max_size=2))
def test_stored_rows_rebuild_the_hashed_body(actor, subject, data, before, after):
    event = AuditEvent(event_id="e-1", type="jixiao.goals.goal.created.v1", source="/jixiao/goals",
                       time=datetime(2026, 3, 1, 8, 30, 1, 5, tzinfo=UTC), actor=actor, subject=subject, data=data,
                       before=before, after=after)
    entry = seal(GENESIS, event)
    row = _entry_row(entry)
    columns = [row[k] for k in ("sequence", "event_id", "type", "source", "actor", "subject", "time", "data",
                                "before", "after", "prev_hash", "hash")]
    assert StoredEntry(*columns).body() == entry.body()
    columns[6] = utc_text(row["time"])  # as PostgreSQL formats it for the verifier
    assert StoredEntry(*columns).body() == entry.body()


def test_before_and_after_come_out_of_the_event_data():
    event = audit_event({"id": "1", "type": "jixiao.goals.goal.updated.v1", "source": "/jixiao/goals",
                         "time": "2026-01-01T00:00:00Z", "actor": {"subject": "p1", "kind": "person"},
                         "subject": "g1", "data": {"goal_id": "g1", "before": {"w": 1}, "after": {"w": 2}}})
    assert (event.actor, event.before, event.after, dict(event.data)) == ("p1", {"w": 1}, {"w": 2}, {"goal_id": "g1"})
