"""Jixiao's microservice chassis. Generic: it knows nothing about goals or ratings.

What a service imports:
    from chassis import Service, Database, UnitOfWork, rpc, event_handler, RpcClient, timer

Exports resolve lazily, so that `python -m chassis.testing` can monkey-patch with eventlet before nameko,
kombu or SQLAlchemy are imported.
"""
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "timer": "nameko.timer",
    "CallContext": "chassis.context", "current_actor": "chassis.context",
    "current_correlation_id": "chassis.context",
    "Conflict": "chassis.errors", "Forbidden": "chassis.errors", "InternalError": "chassis.errors",
    "InvalidInput": "chassis.errors", "NotFound": "chassis.errors", "RpcTimeout": "chassis.errors",
    "ServiceError": "chassis.errors", "ServiceUnavailable": "chassis.errors", "Unprocessable": "chassis.errors",
    "register_error": "chassis.errors",
    "event_handler": "chassis.events",
    "RpcClient": "chassis.remote", "StandaloneRpc": "chassis.remote", "rpc": "chassis.remote",
    "Service": "chassis.service",
    "AlreadyProcessed": "chassis.uow", "Database": "chassis.uow", "Store": "chassis.uow",
    "UnitOfWork": "chassis.uow",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # what the lazy exports are, for the type checker (nothing is imported at run time)
    from nameko.timer import timer as timer

    from chassis.context import CallContext as CallContext
    from chassis.context import current_actor as current_actor
    from chassis.context import current_correlation_id as current_correlation_id
    from chassis.errors import Conflict as Conflict
    from chassis.errors import Forbidden as Forbidden
    from chassis.errors import InternalError as InternalError
    from chassis.errors import InvalidInput as InvalidInput
    from chassis.errors import NotFound as NotFound
    from chassis.errors import RpcTimeout as RpcTimeout
    from chassis.errors import ServiceError as ServiceError
    from chassis.errors import ServiceUnavailable as ServiceUnavailable
    from chassis.errors import Unprocessable as Unprocessable
    from chassis.errors import register_error as register_error
    from chassis.events import event_handler as event_handler
    from chassis.remote import RpcClient as RpcClient
    from chassis.remote import StandaloneRpc as StandaloneRpc
    from chassis.remote import rpc as rpc
    from chassis.service import Service as Service
    from chassis.uow import AlreadyProcessed as AlreadyProcessed
    from chassis.uow import Database as Database
    from chassis.uow import Store as Store
    from chassis.uow import UnitOfWork as UnitOfWork


def lazy_exports(package: str, exports: dict[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module `__getattr__` (PEP 562) resolving `exports` ({name: module}) on first use and caching the value
    in `namespace`, the package's globals."""
    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace[name] = value
        return value
    return __getattr__


__getattr__ = lazy_exports("chassis", _EXPORTS, globals())
