"""Per-container singletons the chassis pieces share (settings now; the store and metrics register here)."""
from __future__ import annotations

from chassis.settings import ServiceSettings, load_settings


def settings_of(container) -> ServiceSettings:
    settings = getattr(container, "_jixiao_settings", None)
    if settings is None:
        settings = load_settings(container.service_name, container.config)
        container._jixiao_settings = settings
    return settings
