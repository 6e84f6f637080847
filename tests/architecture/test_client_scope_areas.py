"""The scopes compliance lets a client hold name the areas the gateway checks (gateway.scopes.AREAS), plus the
client's own webhook subscriptions (`webhooks:write`, checked by notifications): an area added at the edge and
forgotten in the registry (or the reverse) fails here."""
from __future__ import annotations

from compliance.domain.clients import SCOPE_AREAS
from gateway.scopes import AREAS


def test_the_registry_accepts_exactly_the_gateways_areas_and_webhooks():
    assert SCOPE_AREAS == {*AREAS, "webhooks"}
