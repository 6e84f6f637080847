"""Access policy: the suite's one decision function lives in chassis.access.policy, so every service decides
the same way from its own read model; compliance uses it over its own directory (and answers `decide` RPCs).
"""

# the policy's public names, re-exported
from chassis.access.policy import CLIENT_SCOPES as CLIENT_SCOPES
from chassis.access.policy import RULES as RULES
from chassis.access.policy import Actor as Actor
from chassis.access.policy import Decision as Decision
from chassis.access.policy import Relation as Relation
from chassis.access.policy import Resource as Resource
from chassis.access.policy import Rule as Rule
from chassis.access.policy import Scope as Scope
from chassis.access.policy import can as can
from chassis.access.policy import client_can as client_can
from chassis.access.policy import require as require
from chassis.access.policy import resolve_actor as resolve_actor
from chassis.access.policy import scopes_of as scopes_of
