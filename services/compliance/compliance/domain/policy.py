"""Access policy: the suite's one decision function lives in chassis.access.policy, so every service decides
the same way from its own read model; compliance uses it over its own directory (and answers `decide` RPCs).
"""

from chassis.access.policy import (  # noqa: F401 - the policy's public names, re-exported
    CLIENT_SCOPES,
    RULES,
    Actor,
    Decision,
    Relation,
    Resource,
    Rule,
    Scope,
    can,
    client_can,
    require,
    resolve_actor,
    scopes_of,
)
