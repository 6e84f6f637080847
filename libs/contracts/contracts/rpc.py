"""Each RPC declared once: a table per service of method -> request model, response model, and the access it needs.

The table is the source the rest is checked against (tests/architecture/test_rpc_tables.py): the service class
exposes exactly these `@rpc` methods, every gateway route forwarding to the service names one of them with the same
request and response models, and the service README's RPC table is generated from it
(`python -m contracts.rpc goals`).

    GOALS = RpcTable("goals", [
        Rpc("record_progress", c.RecordProgress, c.ProgressRecorded, "goal.progress",
            "Record a key result's value or the KPI actual"),
        ...
    ])

`access` is the policy action the use case requires (an action the service declares in
`contracts.access` and registers, such as `goal.progress`), or a short rule in words where the decision is not one
action (`party to the thread`).
"""
from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import import_module

from pydantic import BaseModel


@dataclass(frozen=True)
class Rpc:
    method: str
    request: type[BaseModel] | None  # None: the method takes no payload
    response: type[BaseModel]
    access: str
    summary: str = ""


class RpcTable:
    """The RPCs of one service, in the order they are documented."""

    def __init__(self, service: str, rpcs: Iterable[Rpc]):
        self.service = service
        self.rpcs = list(rpcs)
        names = [rpc.method for rpc in self.rpcs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"{service}: declared twice: {duplicates}")
        self._by_method = {rpc.method: rpc for rpc in self.rpcs}

    def __iter__(self) -> Iterator[Rpc]:
        return iter(self.rpcs)

    def __getitem__(self, method: str) -> Rpc:
        return self._by_method[method]

    def __contains__(self, method: object) -> bool:
        return method in self._by_method

    @property
    def methods(self) -> set[str]:
        return set(self._by_method)

    def markdown(self) -> str:
        """The README table: | RPC | request | response | access | what it does |"""
        lines = ["| RPC | request | response | access | what it does |", "|---|---|---|---|---|"]
        for rpc in self.rpcs:
            request = f"`{rpc.request.__name__}`" if rpc.request is not None else "—"
            lines.append(f"| `{self.service}.{rpc.method}` | {request} | `{rpc.response.__name__}` | {rpc.access} | "
                         f"{rpc.summary} |")
        return "\n".join(lines) + "\n"


def table_of(service: str) -> RpcTable:
    """The table a service declares in `contracts.<service>_rpc` (the name `TABLE`)."""
    table = import_module(f"contracts.{service}_rpc").TABLE
    if not isinstance(table, RpcTable):
        raise TypeError(f"contracts.{service}_rpc.TABLE is not an RpcTable")
    return table


if __name__ == "__main__":
    from contracts.rpc import table_of as _table_of  # the importable module's class, not this __main__ copy

    for name in sys.argv[1:] or ["goals"]:
        sys.stdout.write(_table_of(name).markdown())
