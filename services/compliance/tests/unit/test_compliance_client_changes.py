"""The rules of a client's change: a renewal is a new reference with a later last day still in force, an update
names what changed, scopes name an area of the suite, and a lapse is due once per last day of an active client."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.domain.clients import (
    Client,
    ClientStatus,
    check_scope_areas,
    lapse_due,
    renewal_refusal,
    updated,
)
from compliance.domain.errors import InvalidInput

TODAY = date(2026, 12, 3)
CLIENT = Client(id="crm", name="CRM", scopes=frozenset({"goals:read"}), event_patterns=("jixiao.goals.*",),
                dpa_ref="DPA-2026-07", dpa_expires=date(2026, 12, 31))


def test_a_renewal_with_a_new_reference_and_a_later_day_is_accepted():
    assert renewal_refusal(CLIENT, "DPA-2027-01", date(2027, 12, 31), TODAY) is None
    assert renewal_refusal(CLIENT, "DPA-2026-07", date(2026, 12, 31), TODAY) is None  # the same again: no change


@pytest.mark.parametrize(("ref", "expires_on", "field", "words"), [
    ("DPA-2025-01", date(2026, 12, 2), "dpa.expires_on", "expired on 2026-12-02"),
    ("DPA-2026-11", date(2026, 12, 30), "dpa.expires_on", "ends after the agreement in force (2026-12-31)"),
    ("DPA-2026-11", date(2026, 12, 31), "dpa.expires_on", "ends after"),
    ("DPA-2026-07", date(2027, 6, 30), "dpa.ref", "DPA-2026-07 is the reference in force"),
])
def test_a_renewal_that_is_not_one_is_refused_naming_the_field(ref, expires_on, field, words):
    refusal = renewal_refusal(CLIENT, ref, expires_on, TODAY)
    assert refusal is not None and refusal.field == field and words in refusal.message


def test_a_lapsed_agreement_may_be_renewed():
    lapsed = Client(id="crm", name="CRM", scopes=frozenset(), event_patterns=(), dpa_ref="DPA-2026-01",
                    dpa_expires=date(2026, 11, 30))
    assert renewal_refusal(lapsed, "DPA-2026-12", date(2027, 11, 30), TODAY) is None


def test_an_update_names_what_changed_and_checks_as_registration_does():
    after, changed = updated(CLIENT, name="CRM (EU)", event_patterns=("jixiao.goals.*",),
                             dpa=("DPA-2027-01", date(2027, 12, 31)))
    assert changed == ["name", "dpa"] and after.dpa_ref == "DPA-2027-01" and after.scopes == CLIENT.scopes
    assert updated(CLIENT) == (CLIENT, [])
    with pytest.raises(InvalidInput) as raised:
        updated(CLIENT, event_patterns=("jixiao.goals.*", "jixiao..goals"))
    assert raised.value.errors[0].path == ("event_patterns", 1)
    with pytest.raises(InvalidInput) as raised:
        updated(CLIENT, scopes=frozenset({"goals"}))
    assert raised.value.errors[0].path == ("scopes",)


def test_scopes_name_an_area_of_the_suite():
    check_scope_areas(frozenset({"goals:read", "incentives.bonus:read", "webhooks:write"}))
    with pytest.raises(InvalidInput, match="'payroll:read' names no area"):
        check_scope_areas(frozenset({"goals:read", "payroll:read"}))


@given(expires=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
       today=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
       announced=st.one_of(st.none(), st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))),
       revoked=st.booleans())
def test_a_lapse_is_due_once_per_last_day_of_an_active_client(expires, today, announced, revoked):
    client = Client(id="c", name="C", scopes=frozenset(), event_patterns=(), dpa_ref="DPA", dpa_expires=expires,
                    status=ClientStatus.REVOKED if revoked else ClientStatus.ACTIVE)
    due = lapse_due(client, announced, today)
    assert due == (not revoked and today > expires and announced != expires)
    assert not lapse_due(client, expires, today + timedelta(days=1))  # announced: never again for that day
