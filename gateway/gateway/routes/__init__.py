"""Every route of /api/v1, by area."""
from __future__ import annotations

from gateway.api import Route
from gateway.auth import Authenticator
from gateway.routes import compliance, dashboard, feedback, goals, incentives, meta, notifications
from gateway.settings import GatewaySettings


def build_routes(settings: GatewaySettings, environment: str, auth: Authenticator) -> list[Route]:
    return [*meta.routes(settings, environment, auth), *goals.routes(), *compliance.routes(), *dashboard.routes(),
            *feedback.routes(), *notifications.routes(), *incentives.routes()]
