"""Who is acting. The gateway authenticates and builds the actor; services authorize against it.

It travels in nameko context data (`actor`) on every RPC and in every event envelope. Ids in a request body are
never identity: only this model is.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ActorKind = Literal["person", "client", "service", "system"]


class Actor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str = Field(min_length=1, max_length=128, description="person id, API client id or service name")
    kind: ActorKind = "person"
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    org_unit: str | None = Field(default=None, max_length=128)

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def has_scope(self, scope: str) -> bool:
        """Scopes are `area:verb` (`goals:read`); `area:*` and `*` grant every verb."""
        if scope in self.scopes or "*" in self.scopes:
            return True
        area = scope.split(":", 1)[0]
        return f"{area}:*" in self.scopes

    @classmethod
    def system(cls, service: str) -> Actor:
        """The actor a service uses for work it does on its own (sweeps, event reactions)."""
        return cls(subject=f"service:{service}", kind="service", roles=("system",))
