"""Every RPC goals and compliance offer to the outside is reachable over HTTP: a new RPC without a route fails here."""
import inspect

from compliance.service import ComplianceService
from gateway.auth import Authenticator
from gateway.routes import build_routes
from gateway.settings import GatewaySettings
from goals.service import GoalsService

# RPCs that are not for HTTP callers: service-to-service or the gateway's own use
INTERNAL = {
    "goals.export_subject_data",  # compliance collects data-subject exports from every service
    "compliance.authenticate_api_key",  # the gateway authenticates API keys with it
    "compliance.org_snapshot",  # services' org read models catch up with it (chassis.access.OrgSync)
    "compliance.request_data_export",  # the synchronous export, for scripts; HTTP uses start_data_export (202)
    "goals.get_team_dashboard",  # goals' sections of GET /dashboard/my-team (gateway.routes.dashboard)
}


def _rpcs(service_cls) -> set[str]:
    from chassis.remote import Rpc

    found = set()
    for name, method in inspect.getmembers(service_cls, inspect.isfunction):
        if any(isinstance(entrypoint, Rpc) for entrypoint in getattr(method, "nameko_entrypoints", ())):
            found.add(f"{service_cls.name}.{name}")
    return found


def test_every_public_rpc_has_a_route():
    settings = GatewaySettings()
    routes = build_routes(settings, "development", Authenticator(settings, "development"))
    targets = {getattr(route.handler, "target", None) for route in routes}
    offered = _rpcs(GoalsService) | _rpcs(ComplianceService)
    assert offered - INTERNAL - targets == set(), "RPCs without a route"
    assert INTERNAL <= offered, "an internal RPC is gone: drop it from INTERNAL"


def test_route_operation_ids_and_paths_are_unique():
    settings = GatewaySettings()
    routes = build_routes(settings, "development", Authenticator(settings, "development"))
    assert len({route.operation_id for route in routes}) == len(routes)
    assert len({(route.method, route.path) for route in routes}) == len(routes)
