"""Base classes every public payload derives from.

`Contract` is strict on input (unknown fields are an error, so a typo in a request is a 4xx naming the field,
not a silently ignored value). `Event` adds the versioned CloudEvents type and the registry used to export the
catalogue.
"""
from __future__ import annotations

import builtins
from functools import lru_cache
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from contracts.glossary import FIELDS

TYPE_PREFIX = "jixiao."


def describe_from_glossary(schema: dict[str, Any]) -> None:
    """A property without a description of its own gets its name's from the glossary, in every JSON Schema the
    contracts generate (the AsyncAPI document, docs/schemas): written once, as in the gateway's OpenAPI."""
    for name, prop in schema.get("properties", {}).items():
        if isinstance(prop, dict) and "description" not in prop and name in FIELDS:
            prop["description"] = FIELDS[name]


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True,
                              json_schema_extra=describe_from_glossary)


class Event(Contract):
    """A fact a service publishes. Subclasses set `type` and `subject_field`.

    `type` follows `jixiao.<service>.<entity>.<verb>.v<N>`; a breaking change is a new class with a new version.
    `subject_field` names the field whose value becomes the envelope `subject` (the aggregate id), which is also
    what the outbox orders by.
    """

    type: ClassVar[str]
    subject_field: ClassVar[str | None] = None
    registry: ClassVar[dict[str, builtins.type[Event]]] = {}  # builtins: `type` above is the event type's name

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("type")
        if event_type is None:
            return  # an abstract intermediate class
        validate_event_type(event_type)
        if event_type in Event.registry and Event.registry[event_type] is not cls:
            raise ValueError(f"event type {event_type} is declared twice")
        Event.registry[event_type] = cls

    @classmethod
    def service(cls) -> str:
        return cls.type.split(".")[1]

    def subject(self) -> str | None:
        if self.subject_field is None:
            return None
        value = getattr(self, self.subject_field)
        return None if value is None else str(value)


@lru_cache(maxsize=1024)  # called for every envelope; the set of types is small and closed
def validate_event_type(event_type: str) -> None:
    parts = event_type.split(".")
    if (
        len(parts) != 5
        or parts[0] != "jixiao"
        or not parts[4].startswith("v")
        or not parts[4][1:].isdigit()
        or not all(p and p.replace("_", "").isalnum() and p == p.lower() for p in parts[:4])
    ):
        raise ValueError(f"event type {event_type!r} is not jixiao.<service>.<entity>.<verb>.v<N>")


def event_class(event_type: str) -> type[Event] | None:
    return Event.registry.get(event_type)
