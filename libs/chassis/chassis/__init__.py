"""Jixiao's microservice chassis. Generic: it knows nothing about goals or ratings.

What a service imports:
    from chassis import Service, Database, UnitOfWork, rpc, event_handler, RpcClient, timer

Exports resolve lazily, so that `python -m chassis.testing` can monkey-patch with eventlet before nameko,
kombu or SQLAlchemy are imported.
"""
from importlib import import_module

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


def lazy_exports(package: str, exports: dict[str, str], namespace: dict):
    """A module `__getattr__` (PEP 562) resolving `exports` ({name: module}) on first use and caching the value
    in `namespace`, the package's globals."""
    def __getattr__(name):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace[name] = value
        return value
    return __getattr__


__getattr__ = lazy_exports("chassis", _EXPORTS, globals())
