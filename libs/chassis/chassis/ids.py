"""Ids, one way for every service: a random UUID (version 4) as text, 36 characters with dashes
(`3f2b8c1e-...`). Use `new_id()` for every new row, event or request id a service makes; ids from other systems
are kept as they come (the contracts' `Id` type bounds their length)."""
from __future__ import annotations

import uuid


def new_id() -> str:
    """A new random id: `str(uuid.uuid4())`."""
    return str(uuid.uuid4())


__all__ = ["new_id"]
