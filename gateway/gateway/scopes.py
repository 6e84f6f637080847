"""The coarse permissions checked at the edge. Row-level access (whose goals, which org units) is the services'.

A scope is `area:verb`. API clients hold the scopes compliance registered for them; people hold the scopes of
their roles, narrowed by the token's own `scope` claim when it has one (a token may carry less, never more).
"""
from __future__ import annotations

from collections.abc import Iterable

AREAS = {
    "goals": "cycles, goals and trees, key results, progress, proposals, commitments, allocations, templates, board",
    "org": "people and org units (read the directory; write: imports and changes)",
    "audit": "the audit log: queries and chain verification",
    "privacy": "data-subject requests: exports and erasure",
    "appeals": "appeals against ratings and decisions",
    "clients": "the registry of third-party API clients and their keys",
    "compliance": "legal holds, retention sweeps, compliance settings and presets",
    "feedback": "check-ins, reports, key events, sales activity, coaching, 360 feedback",
    "incentives": "bonus pools, rules and proposals, points and rewards, development plans, talent reviews",
}

SCOPES = {f"{area}:{verb}": f"{verb} {what}" for area, what in AREAS.items() for verb in ("read", "write")}

_PERSON = ("goals:read", "goals:write", "org:read", "privacy:read", "privacy:write", "appeals:read",
           "appeals:write", "feedback:read", "feedback:write", "incentives:read", "incentives:write")
ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "employee": _PERSON,
    "manager": _PERSON,
    "hr": (*_PERSON, "org:write"),
    "hrbp": (*_PERSON, "org:write"),
    "auditor": ("org:read", "audit:read", "compliance:read"),
    "admin": ("*",),
}


def grants(granted: Iterable[str], scope: str) -> bool:
    """Does a set of scopes grant `scope`? `area:*` grants every verb of the area, `*` everything."""
    granted = set(granted)
    return scope in granted or "*" in granted or f"{scope.split(':', 1)[0]}:*" in granted


def person_scopes(roles: Iterable[str], token_scopes: Iterable[str] | None) -> tuple[str, ...]:
    from_roles = sorted({scope for role in roles for scope in ROLE_SCOPES.get(role, ())})
    if token_scopes is None:
        return tuple(from_roles)
    return tuple(sorted(s for s in set(token_scopes) if grants(from_roles, s)))
