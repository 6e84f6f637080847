"""A registered client changes through compliance's use cases, on SQLite and PostgreSQL: its name, scopes, event
patterns and a renewed agreement (`client.updated`), careless input refused naming the field with nothing written,
a revoked client left alone, and a lapsed agreement announced once per lapse (`client.dpa_lapsed`), re-armed by a
renewal."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chassis.errors import Conflict, NotFound, Unprocessable
from compliance.domain.errors import InvalidInput
from compliance.usecases import clients
from contracts import compliance as c
from contracts.actor import Actor

ROOT = Actor(subject="root", kind="person")
TODAY = datetime.now(UTC).date()
_QUARTER_START = (TODAY.month - 1) // 3 * 3 + 1
QUARTER_END = date(TODAY.year + (_QUARTER_START == 10), _QUARTER_START % 12 + 3 if _QUARTER_START < 10 else 1,
                   1) - timedelta(days=1)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def crm(compliance):
    """An active client whose agreement runs to the end of this quarter."""
    return compliance.run(clients.register_client, ROOT, c.RegisterClient(
        name="CRM", scopes=["goals:read"], event_patterns=["jixiao.goals.*"],
        dpa=c.DpaTerms(ref="DPA-2026-07", expires_on=QUARTER_END)))


def stored(compliance, client_id: str):
    return compliance.rows("select name, scopes, event_patterns, dpa_ref, dpa_expires, status, "
                           "dpa_lapse_announced_for from compliance_clients where client_id = :c", c=client_id)[0]


def test_quarter_end_is_this_quarters_last_day():
    assert QUARTER_END >= TODAY and (QUARTER_END + timedelta(days=1)).month in (1, 4, 7, 10)
    assert (QUARTER_END - TODAY).days < 92


def test_registration_publishes_the_agreement_with_its_last_day(compliance, crm):
    [(_, data)] = compliance.events(type_suffix="client.registered.v1")
    assert data["dpa"] == {"ref": "DPA-2026-07", "expires_on": QUARTER_END.isoformat()}
    assert data["dpa_ref"] == "DPA-2026-07"


def test_an_administrator_changes_name_scopes_and_patterns(compliance, crm):
    mark = compliance.mark()
    view = compliance.run(clients.update_client, ROOT, c.UpdateClient(
        client_id=crm.client_id, name="CRM (EU)", scopes=["goals:read", "feedback:read"],
        event_patterns=["jixiao.goals.goal.*.v1", "jixiao.feedback.*"]))
    assert view.name == "CRM (EU)" and view.scopes == ["feedback:read", "goals:read"]
    assert view.event_patterns == ["jixiao.goals.goal.*.v1", "jixiao.feedback.*"]
    assert view.dpa == c.DpaTerms(ref="DPA-2026-07", expires_on=QUARTER_END)
    [(kind, data)] = compliance.events(since=mark)
    assert kind == "jixiao.compliance.client.updated.v1"
    assert data == {"client_id": crm.client_id, "name": "CRM (EU)", "scopes": ["feedback:read", "goals:read"],
                    "event_patterns": ["jixiao.goals.goal.*.v1", "jixiao.feedback.*"], "status": "active",
                    "dpa": {"ref": "DPA-2026-07", "expires_on": QUARTER_END.isoformat()},
                    "changed": ["name", "scopes", "event_patterns"]}
    assert compliance.run(clients.get_client, ROOT, c.ClientRef(client_id=crm.client_id)) == view

    again = compliance.run(clients.update_client, ROOT, c.UpdateClient(client_id=crm.client_id, name="CRM (EU)"))
    assert again == view and compliance.events(since=mark + 1) == []  # no change, no event


def test_a_renewal_is_a_new_reference_with_a_later_last_day(compliance, crm):
    renewed = c.DpaTerms(ref="DPA-2027-01", expires_on=QUARTER_END + timedelta(days=365))
    mark = compliance.mark()
    view = compliance.run(clients.update_client, ROOT, c.UpdateClient(client_id=crm.client_id, dpa=renewed))
    assert view.dpa == renewed and view.dpa_ref == "DPA-2027-01" and not view.dpa_lapsed
    [(_, data)] = compliance.events(since=mark)
    assert data["changed"] == ["dpa"] and data["dpa"]["expires_on"] == renewed.expires_on.isoformat()


@pytest.mark.parametrize(("change", "field", "error"), [
    ({"scopes": ["goals:read", "payroll:read"]}, "scopes", InvalidInput),
    ({"scopes": ["goals"]}, "scopes", InvalidInput),
    ({"event_patterns": ["jixiao.goals.*", "jixiao goals"]}, "event_patterns.1", InvalidInput),
    ({"dpa": {"ref": "DPA-2025-01", "expires_on": (TODAY - timedelta(days=1)).isoformat()}}, "dpa.expires_on",
     Unprocessable),
    ({"dpa": {"ref": "DPA-2026-12", "expires_on": (QUARTER_END - timedelta(days=1)).isoformat()}},
     "dpa.expires_on", Unprocessable),
    ({"dpa": {"ref": "DPA-2026-07", "expires_on": (QUARTER_END + timedelta(days=90)).isoformat()}}, "dpa.ref",
     Unprocessable),
])
def test_careless_changes_are_refused_naming_the_field_and_nothing_is_written(compliance, crm, change, field, error):
    before, mark = stored(compliance, crm.client_id), compliance.mark()
    command = c.UpdateClient.model_validate({"client_id": crm.client_id, "name": "renamed", **change})
    with pytest.raises(error) as raised:
        compliance.run(clients.update_client, ROOT, command)
    if isinstance(raised.value, InvalidInput):
        assert [".".join(str(p) for p in e.path) for e in raised.value.errors] == [field]
    else:
        assert [e["field"] for e in raised.value.errors] == [field]
    assert stored(compliance, crm.client_id) == before and compliance.events(since=mark) == []


def test_an_unknown_field_is_refused_by_the_contract():
    with pytest.raises(ValueError, match="webhook_url"):
        c.UpdateClient.model_validate({"client_id": "abc", "webhook_url": "https://crm.example.com"})


def test_a_revoked_client_cannot_be_changed(compliance, crm):
    compliance.run(clients.revoke_client, ROOT, c.ClientRef(client_id=crm.client_id))
    before, mark = stored(compliance, crm.client_id), compliance.mark()
    with pytest.raises(Conflict) as raised:
        compliance.run(clients.update_client, ROOT, c.UpdateClient(client_id=crm.client_id, name="back"))
    assert raised.value.extra["reason"] == "client-revoked" and raised.value.status == 409
    assert stored(compliance, crm.client_id) == before and compliance.events(since=mark) == []


def test_a_missing_client_and_a_non_administrator_get_the_same_404(compliance, crm):
    with pytest.raises(NotFound):
        compliance.run(clients.update_client, ROOT, c.UpdateClient(client_id="nosuchclient", name="x"))
    hr = Actor(subject="H", kind="person")
    with pytest.raises(NotFound) as raised:
        compliance.run(clients.update_client, hr, c.UpdateClient(client_id=crm.client_id, name="mine"))
    assert str(raised.value) == f"no client {crm.client_id!r}"
    assert stored(compliance, crm.client_id).name == "CRM"


def test_a_lapse_is_announced_once_and_a_renewal_rearms_it(compliance, crm):
    sweep = clients.announce_lapsed_agreements
    compliance.now = at(QUARTER_END, 23)  # the last day: still in force
    assert sweep(compliance.uow()) == 0
    compliance.now = at(QUARTER_END + timedelta(days=1), 0)  # the day after: lapsed
    mark = compliance.mark()
    assert sweep(compliance.uow()) == 1
    assert sweep(compliance.uow()) == 0  # once per lapse, however often the sweep runs
    compliance.now = at(QUARTER_END + timedelta(days=5))
    assert sweep(compliance.uow()) == 0
    [(kind, data)] = compliance.events(since=mark)
    assert kind == "jixiao.compliance.client.dpa_lapsed.v1"
    assert data == {"client_id": crm.client_id, "name": "CRM", "status": "active",
                    "dpa": {"ref": "DPA-2026-07", "expires_on": QUARTER_END.isoformat()}}
    assert str(stored(compliance, crm.client_id).dpa_lapse_announced_for) == QUARTER_END.isoformat()

    renewed_until = QUARTER_END + timedelta(days=90)
    compliance.run(clients.update_client, ROOT, c.UpdateClient(
        client_id=crm.client_id, dpa=c.DpaTerms(ref="DPA-2027-01", expires_on=renewed_until)))
    assert sweep(compliance.uow()) == 0  # renewed: in force again
    compliance.now = at(renewed_until + timedelta(days=1))
    mark = compliance.mark()
    assert sweep(compliance.uow()) == 1 and sweep(compliance.uow()) == 0  # the renewal's own lapse, once
    [(_, data)] = compliance.events(since=mark)
    assert data["dpa"] == {"ref": "DPA-2027-01", "expires_on": renewed_until.isoformat()}


def test_a_revoked_clients_lapse_is_not_announced(compliance, crm):
    compliance.run(clients.revoke_client, ROOT, c.ClientRef(client_id=crm.client_id))
    compliance.now = at(QUARTER_END + timedelta(days=1))
    assert clients.announce_lapsed_agreements(compliance.uow()) == 0
