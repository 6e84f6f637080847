"""Issue 10 item 8: a caller who may not know that a record exists gets, for an existing record, exactly the 404 of a
missing one (a 403 would confirm that it exists); a caller who may see it but not act on it gets the honest 403.

One test per kind of record (appeals, data-subject requests, import jobs, legal holds, clients and API keys), run
on SQLite and on PostgreSQL through compliance's use cases, no broker. The organisation is set up through the
directory's own use cases by the bootstrap administrator, on today's date (December 2026).
"""
from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from chassis.errors import Forbidden, NotFound, ServiceError
from compliance.usecases import appeals, clients, directory, dsr, imports, retention
from contracts import compliance as c
from contracts.actor import Actor

MISSING = "0123456789abcdef0123456789abcdef"  # an id no record has


def person(subject: str) -> Actor:
    return Actor(subject=subject, kind="person")


def refused(call: Callable[[], Any]) -> ServiceError:
    try:
        answer = call()
    except ServiceError as error:
        return error
    pytest.fail(f"expected a refusal, got {answer!r}")


def same_as_missing(existing: Callable[[str], Any], record_id: str) -> ServiceError:
    """The refusal for the existing record, checked to be the very answer for a missing one (the id aside)."""
    hidden = refused(lambda: existing(record_id))
    missing = refused(lambda: existing(MISSING))
    assert isinstance(hidden, NotFound) and isinstance(missing, NotFound), (hidden, missing)
    as_missing = re.sub(re.escape(record_id), MISSING, hidden.detail)
    assert (hidden.status, as_missing, hidden.errors) == (missing.status, missing.detail, missing.errors)
    return hidden


def test_an_appeal_is_hidden_from_who_may_not_read_it(compliance):
    run = compliance.run
    appellant, peer, hr, hr_elsewhere = person("T"), person("P"), person("H"), person("S")
    appeal = run(appeals.submit_appeal, appellant, c.SubmitAppeal(target_kind="rating", target_ref="rating-T-2026",
                                                                 reasons="Q4 2026 rating ignores the launch"))
    ref = appeal.appeal_id
    for stranger in (peer, hr_elsewhere, person("M")):  # a colleague, HR of another unit, the manager who rated
        same_as_missing(lambda i, who=stranger: run(appeals.get_appeal, who, c.AppealRef(appeal_id=i)), ref)
        same_as_missing(lambda i, who=stranger: run(appeals.withdraw_appeal, who, c.AppealRef(appeal_id=i)), ref)
        same_as_missing(lambda i, who=stranger: run(appeals.start_review, who, c.AppealRef(appeal_id=i)), ref)
        same_as_missing(lambda i, who=stranger: run(appeals.decide_appeal, who, c.DecideAppeal(
            appeal_id=i, outcome="upheld", reason="no")), ref)
    # who may read it gets the honest 403: the appellant does not review their own appeal, HR does not withdraw it
    assert isinstance(refused(lambda: run(appeals.start_review, appellant, c.AppealRef(appeal_id=ref))), Forbidden)
    assert isinstance(refused(lambda: run(appeals.withdraw_appeal, hr, c.AppealRef(appeal_id=ref))), Forbidden)
    assert run(appeals.get_appeal, hr, c.AppealRef(appeal_id=ref)).state == "submitted"  # and nothing changed
    denials = compliance.events(type_suffix="access.denied.v1")
    assert {(data["actor_subject"], data["action"]) for _, data in denials} >= {
        ("P", "appeal.read"), ("S", "appeal.decide"), ("T", "appeal.review"), ("H", "appeal.withdraw")}


def test_a_data_subject_request_is_hidden_from_who_may_not_read_it(compliance):
    run = compliance.run
    subject, peer, root = person("T"), person("P"), person("root")
    request = run(dsr.start_export, subject, c.DsrSubject(), [])
    ref = request.request_id
    for stranger in (peer, person("S")):
        same_as_missing(lambda i, who=stranger: run(dsr.get_dsr, who, c.DsrRef(request_id=i)), ref)
        same_as_missing(lambda i, who=stranger: run(dsr.retry_dsr, who, c.DsrRef(request_id=i), b"k" * 32), ref)
    # an administrator reads requests but does not file them: the honest 403
    assert run(dsr.get_dsr, root, c.DsrRef(request_id=ref)).request.subject == "T"
    assert isinstance(refused(lambda: run(dsr.retry_dsr, root, c.DsrRef(request_id=ref), b"k" * 32)), Forbidden)


def test_an_import_job_is_hidden_from_who_may_not_import_there(compliance):
    run = compliance.run
    hr, employee, root = person("H"), person("T"), person("root")
    csv = "工号,姓名,部门\nE300,新同事,平台部\n".encode()
    job = run(imports.start_import, hr, c.StartImport(filename="q4-2026-hires.csv", within_unit="rd",
                                                      content_base64=base64.b64encode(csv).decode()), None)
    ref = job.job_id
    for stranger in (employee, person("S")):
        same_as_missing(lambda i, who=stranger: run(imports.get_import, who, c.ImportJobRef(job_id=i)), ref)
        same_as_missing(lambda i, who=stranger: run(imports.apply_import, who, c.ImportJobRef(job_id=i)), ref)
    # the requester still sees their job once their HR grant is gone, and is told honestly they may not apply it
    run(directory.set_grants, root, c.SetGrants(subject_id="H", grants=[]))
    assert run(imports.get_import, hr, c.ImportJobRef(job_id=ref)).job_id == ref
    assert isinstance(refused(lambda: run(imports.apply_import, hr, c.ImportJobRef(job_id=ref))), Forbidden)


def test_a_legal_hold_is_hidden_from_everyone_but_administrators(compliance):
    run = compliance.run
    root = person("root")
    hold = run(retention.place_hold, root, c.PlaceHold(reason="litigation 2026-Q4", subject="T"))
    for stranger in (person("H"), person("T")):
        same_as_missing(lambda i, who=stranger: run(retention.release_hold, who, c.HoldIdRef(hold_id=i)),
                        hold.hold_id)
    assert run(retention.release_hold, root, c.HoldIdRef(hold_id=hold.hold_id)).released_at is not None


def test_a_client_and_its_keys_are_hidden_from_everyone_but_administrators(compliance):
    run = compliance.run
    root, hr = person("root"), person("H")
    client = run(clients.register_client, root, c.RegisterClient(
        name="Payroll", scopes=["goals:read"], dpa=c.DpaTerms(ref="DPA-2026-12", expires_on=date(2027, 12, 31))))
    key = run(clients.issue_api_key, root, c.IssueApiKey(client_id=client.client_id))
    same_as_missing(lambda i: run(clients.get_client, hr, c.ClientRef(client_id=i)), client.client_id)
    same_as_missing(lambda i: run(clients.revoke_client, hr, c.ClientRef(client_id=i)), client.client_id)
    same_as_missing(lambda i: run(clients.revoke_api_key, hr, c.RevokeApiKey(key_id=i[:32])), key.key_id)
    # nothing was revoked by the refused calls
    assert run(clients.get_client, root, c.ClientRef(client_id=client.client_id)).key_ids == [key.key_id]
