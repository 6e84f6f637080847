"""issue 10 #4: a write answered 504 was carried out afterwards, and the client's retry with the same
Idempotency-Key wrote a second row. A call carrying a request key now writes at most once."""
import pytest
from sqlalchemy import create_engine, text

from chassis.errors import InvalidInput, ServiceError
from chassis.testing.toy import ToyWriter, create_schema


def notes(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM toy_notes")).scalar()
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def writer_url(request, tmp_path, pg):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'w.db'}"
    else:
        import uuid

        name = f"jxt_chassis_rk_{uuid.uuid4().hex[:8]}"
        url = pg.create(name)
        request.addfinalizer(lambda: pg.drop(name))
    create_schema(url)
    return url


def test_a_retried_write_is_done_once_and_reads_are_never_refused(run_services, rpc_client, amqp_uri, writer_url):
    run_services({ToyWriter: {"DATABASE_URL": writer_url}})
    caller = rpc_client(amqp_uri)
    first = caller.with_request_key("owner:key-1").toy_writer.write_note({"text": "once", "count": 2})
    with pytest.raises(ServiceError) as again:  # the retry after a lost answer
        caller.with_request_key("owner:key-1").toy_writer.write_note({"text": "once", "count": 2})
    assert (again.value.status, again.value.code) == (409, "request-already-done")
    assert notes(writer_url) == 2  # the first attempt's two notes, no more
    keyed = caller.with_request_key("owner:key-1")
    for _ in range(2):  # a read under the same key claims nothing and is answered every time
        assert keyed.toy_writer.get_note(first["ids"][0])["text"] == "once"
    caller.with_request_key("owner:key-2").toy_writer.write_note({"text": "another request"})
    assert notes(writer_url) == 3
    with pytest.raises(InvalidInput):  # a failed attempt claims nothing: its retry may write
        caller.with_request_key("owner:key-3").toy_writer.write_note({"text": ""})
    caller.with_request_key("owner:key-3").toy_writer.write_note({"text": "fixed"})
    assert notes(writer_url) == 4
    caller.toy_writer.write_note({"text": "no key: as before"})
    caller.toy_writer.write_note({"text": "no key: as before"})
    assert notes(writer_url) == 6


class Kept:
    """chassis.remote.FirstOutcomes in memory (the gateway keeps them in its database)."""

    def __init__(self):
        self.replies: dict[str, dict] = {}

    def answered(self, call_key, reply):
        self.replies[call_key] = reply

    def arrived_late(self, call_key, reply):
        self.replies[call_key] = reply

    def recall(self, call_key, wait):
        return self.replies.get(call_key)


def test_a_late_reply_is_kept_and_answers_the_retry(run_services, rpc_client, amqp_uri, pg):
    """A call that times out while the service is held up (another transaction holds its table) is still carried
    out; its late reply is kept, and the retry under the same key answers it instead of writing again."""
    import uuid

    from chassis.errors import RpcTimeout
    from chassis.testing.plugin import wait_for

    name = f"jxt_chassis_rk_{uuid.uuid4().hex[:8]}"
    url = pg.create(name)
    try:
        create_schema(url)
        run_services({ToyWriter: {"DATABASE_URL": url}})
        caller, kept = rpc_client(amqp_uri, timeout=0.5), Kept()
        engine = create_engine(url)
        with engine.connect() as holder:
            held = holder.begin()
            holder.execute(text("LOCK TABLE toy_notes IN EXCLUSIVE MODE"))
            with pytest.raises(RpcTimeout):
                caller.with_request_key("owner:late", kept).toy_writer.write_note({"text": "late"})
            held.rollback()
        engine.dispose()
        wait_for(lambda: len(kept.replies) == 1, message="the late reply is kept")
        [first] = kept.replies.values()
        retry = caller.with_request_key("owner:late", kept).toy_writer.write_note({"text": "late"})
        assert retry == first["result"] and notes(url) == 1
        unkept = rpc_client(amqp_uri).with_request_key("owner:late")  # no reply kept: told it was done
        with pytest.raises(ServiceError) as done:
            unkept.toy_writer.write_note({"text": "late"})
        assert done.value.code == "request-already-done" and notes(url) == 1
    finally:
        pg.drop(name)
