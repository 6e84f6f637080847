"""The nameko container chassis services run in (`SERVICE_CONTAINER_CLS: chassis.container.ServiceContainer`).

It turns the typed settings into the nameko config keys nameko's own extensions read (broker, transport
options, heartbeat, worker pool, web address), so config.yaml stays short and both run modes agree.
"""
from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chassis.amqp import nameko_amqp_config
from chassis.framework import DependencyProvider, get_service_name
from chassis.framework import ServiceContainer as NamekoContainer
from chassis.settings import ServiceSettings, load_settings

if TYPE_CHECKING:
    from chassis.framework import ExcInfo, WorkerContext

# nameko's own logger for workers: its messages (expected and unexpected errors) keep their logger and wording
_log = logging.getLogger("nameko.containers")
HOOKS = ("worker_setup", "worker_result", "worker_teardown")
HandleResult = Callable[["WorkerContext", Any, "ExcInfo | None"], tuple[Any, "ExcInfo | None"]]


def nameko_config(service_name: str, config: dict[str, Any] | None = None,
                  settings_class: type[ServiceSettings] = ServiceSettings) -> dict[str, Any]:
    config = dict(config or {})
    settings = load_settings(service_name, config, base=settings_class)
    config.update(nameko_amqp_config(settings.amqp_uri, settings.heartbeat))
    config["max_workers"] = settings.max_workers
    config.setdefault("WEB_SERVER_ADDRESS", settings.http_address)
    config.setdefault("serializer", "json")
    config["_jixiao_settings"] = settings
    return config


def overriding(providers: list[DependencyProvider], hook: str) -> list[DependencyProvider]:
    """The providers whose class does something in `hook` (nameko's base class does nothing in any of them)."""
    base = getattr(DependencyProvider, hook)
    return [provider for provider in providers if getattr(type(provider), hook) is not base]


class ServiceContainer(NamekoContainer):
    def __init__(self, service_cls: type, config: dict[str, Any]) -> None:
        # the service's own ServiceSettings subclass (`settings_class`), as chassis.runtime.settings_of promises
        config = nameko_config(get_service_name(service_cls), config,
                               getattr(service_cls, "settings_class", ServiceSettings))
        self._jixiao_settings = config.pop("_jixiao_settings")
        super().__init__(service_cls, config)
        self._jixiao_hooks: dict[str, list[DependencyProvider]] | None = None

    def _hooks(self) -> dict[str, list[DependencyProvider]]:
        hooks = self._jixiao_hooks
        if hooks is None:  # the dependencies are fixed once the container exists; their order is kept
            providers = list(self.dependencies)
            hooks = {hook: overriding(providers, hook) for hook in HOOKS}
            hooks["inject"] = providers
            self._jixiao_hooks = hooks
        return hooks

    def _run_worker(self, worker_ctx: WorkerContext, handle_result: HandleResult | None) -> None:
        """nameko's worker, without what it did per call for its debug log even with debug off: the call-id stack
        (a uuid4 and a deque, still built when a call goes on to make one) and four timing context managers; and
        calling only the dependency hooks a provider implements. Same order, same error handling and logging."""
        if _log.isEnabledFor(logging.DEBUG):
            super()._run_worker(worker_ctx, handle_result)
            return
        hooks = self._hooks()
        service = worker_ctx.service
        for provider in hooks["inject"]:  # every provider, as nameko (None from one that injects nothing)
            setattr(service, provider.attr_name, provider.get_dependency(worker_ctx))
        for provider in hooks["worker_setup"]:
            provider.worker_setup(worker_ctx)
        result: Any = None
        exc_info: ExcInfo | None = None
        try:
            result = getattr(service, worker_ctx.entrypoint.method_name)(*worker_ctx.args, **worker_ctx.kwargs)
        except Exception as exc:
            if isinstance(exc, worker_ctx.entrypoint.expected_exceptions):
                _log.warning("(expected) error handling worker %s: %s", worker_ctx, exc, exc_info=True)
            else:
                _log.exception("error handling worker %s: %s", worker_ctx, exc)
            exc_info = sys.exc_info()  # type: ignore[assignment]  # set: inside the except block
        if handle_result is not None:
            result, exc_info = handle_result(worker_ctx, result, exc_info)
        for provider in hooks["worker_result"]:
            provider.worker_result(worker_ctx, result, exc_info)
        del exc_info  # as nameko: no reference cycle through the traceback
        for provider in hooks["worker_teardown"]:
            provider.worker_teardown(worker_ctx)

    def start(self) -> None:
        super().start()
        # Everything alive now (modules, schemas, metadata) lives as long as the process: keep it out of the
        # collector's way. Full collections over it took ~100 ms under load and set every route's p99.
        gc.collect()
        gc.freeze()
