"""issue 8 #11: ordinary 4xx are INFO without a traceback; only 5xx and unexpected exceptions are ERROR."""
import logging

import pytest

from chassis.errors import InvalidInput, NotFound
from chassis.testing.toy import ToyWriter, create_schema


def test_a_callers_mistake_is_one_info_line_and_a_fault_stays_an_error(run_services, rpc_client, amqp_uri,
                                                                       tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    create_schema(url)
    run_services({ToyWriter: {"DATABASE_URL": url}})
    caller = rpc_client(amqp_uri)
    caplog.set_level(logging.INFO)
    with pytest.raises(InvalidInput):
        caller.toy_writer.write_note({"text": ""})  # 400, named field
    with pytest.raises(NotFound):
        caller.toy_writer.no_such_method({})  # 404
    with pytest.raises(Exception):
        caller.toy_writer.write_note({"text": "x", "count": "not a number at all"})  # pydantic: 400 as well
    failed = [r for r in caplog.records if r.name == "nameko.containers" and "write_note" in r.getMessage()]
    assert failed, "the failed calls are still logged"
    for record in failed:
        assert record.levelno == logging.INFO and record.exc_info is None and record.exc_text is None, \
            (record.levelname, record.getMessage())
    assert any("400" in r.getMessage() and "InvalidInput" in r.getMessage() for r in failed)


def test_unexpected_exceptions_keep_error_and_traceback():
    from chassis.logs import ClientErrorsAtInfo

    def record_of(exc):
        try:
            raise exc
        except Exception:
            import sys
            return logging.LogRecord("nameko.containers", logging.ERROR, __file__, 1, "error handling worker %s: %s",
                                     ("<worker>", exc), sys.exc_info())

    fault = record_of(ZeroDivisionError("boom"))
    ClientErrorsAtInfo().filter(fault)
    assert fault.levelno == logging.ERROR and fault.exc_info is not None
    from chassis.errors import ServiceUnavailable

    outage = record_of(ServiceUnavailable("broker down"))
    ClientErrorsAtInfo().filter(outage)
    assert outage.levelno == logging.ERROR and outage.exc_info is not None
    missing = record_of(NotFound("no goal g-1"))
    ClientErrorsAtInfo().filter(missing)
    assert missing.levelno == logging.INFO and missing.exc_info is None and "<worker>" in missing.getMessage()
