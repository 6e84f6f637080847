"""Per-container singletons the chassis pieces share (settings now; the store and metrics register here)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chassis.settings import ServiceSettings, load_settings

if TYPE_CHECKING:  # no nameko import at run time: fast tests and plain scripts read settings too
    from chassis.framework import ServiceContainer


def settings_of(container: ServiceContainer) -> ServiceSettings:
    """The container's settings, of the service class's `settings_class` (a ServiceSettings subclass) if it has one."""
    settings: ServiceSettings | None = getattr(container, "_jixiao_settings", None)
    if settings is None:
        base = getattr(getattr(container, "service_cls", None), "settings_class", ServiceSettings)
        settings = load_settings(container.service_name, container.config, base=base)
        container._jixiao_settings = settings
    return settings
