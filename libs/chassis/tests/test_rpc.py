import time

import pytest

from chassis.errors import InternalError, InvalidInput, NotFound, RpcTimeout
from chassis.testing.toy import ToyReader, ToyWriter
from contracts import Actor


@pytest.fixture
def toys(run_services, amqp_uri, db_url, tmp_path):
    from chassis.testing.toy import create_schema
    reader_url = f"sqlite:///{tmp_path / 'reader.db'}"
    create_schema(reader_url)
    return run_services({ToyWriter: {"DATABASE_URL": db_url}, ToyReader: {"DATABASE_URL": reader_url}},
                        AMQP_URI=amqp_uri)


@pytest.fixture
def caller(toys, rpc_client, amqp_uri):
    return rpc_client(amqp_uri, actor=Actor(subject="p-7", roles=("employee",), org_unit="u-1"),
                      correlation_id="req-42")


def test_call_returns_the_result(caller):
    result = caller.toy_writer.write_note({"text": "hello"})
    assert len(result["ids"]) == 1
    assert caller.toy_writer.get_note(result["ids"][0])["text"] == "hello"


def test_actor_and_correlation_id_reach_the_service(caller):
    answer = caller.toy_writer.whoami()
    assert answer["actor"]["subject"] == "p-7"
    assert answer["actor"]["org_unit"] == "u-1"
    assert answer["correlation_id"] == "req-42"


def test_service_errors_come_back_as_the_same_class(caller):
    with pytest.raises(NotFound) as err:
        caller.toy_writer.get_note("nope")
    assert err.value.status == 404
    assert "nope" in err.value.detail


def test_invalid_payload_names_the_field(caller):
    with pytest.raises(InvalidInput) as err:
        caller.toy_writer.write_note({"text": "x", "count": "many"})
    assert err.value.status == 400
    assert [e["field"] for e in err.value.errors] == ["count"]
    with pytest.raises(InvalidInput) as err:
        caller.toy_writer.write_note({"text": "x", "colour": "red"})
    assert [e["field"] for e in err.value.errors] == ["colour"]


def test_unexpected_errors_hide_internals(caller):
    with pytest.raises(InternalError) as err:
        caller.toy_writer.broken()
    problem = err.value.problem()
    assert problem["status"] == 500
    assert "hunter2" not in str(problem)
    assert problem["correlation_id"] == "req-42"


def test_unknown_method_is_an_error_not_a_hang(caller):
    with pytest.raises(NotFound):
        caller.call("toy_writer.no_such_method", timeout=5)


def test_nul_characters_are_refused_naming_the_field(caller):
    with pytest.raises(InvalidInput) as err:
        caller.toy_writer.write_note({"text": "a\x00b"})
    assert err.value.errors[0]["field"] == "text"


def test_wrong_arguments_are_invalid_input(caller):
    with pytest.raises(InvalidInput):
        caller.toy_writer.get_note("a", "b", "c")


def test_timeout_is_raised_on_time(caller):
    started = time.monotonic()
    with pytest.raises(RpcTimeout) as err:
        caller.call("toy_writer.slow", 3, timeout=0.5)
    assert time.monotonic() - started < 2
    assert err.value.status == 504


def test_unknown_service_times_out(caller):
    with pytest.raises(RpcTimeout):
        caller.call("nobody.home", timeout=0.5)


def test_fan_out_runs_in_parallel(caller):
    started = time.monotonic()
    pending = [caller.call_async("toy_writer.slow", 0.5) for _ in range(4)]
    assert [p.result() for p in pending] == ["done"] * 4
    assert time.monotonic() - started < 1.8


def test_service_to_service_call_has_a_timeout(caller):
    assert caller.toy_writer.ask_reader(2) == {"distinct": 0, "total": 0}
