"""Each RPC declared once (contracts.rpc): every table in `contracts/*_rpc.py` against its service class, the
service's decoding, the gateway's routes, the actions the service registers and the service README's RPC table.
A method added, renamed or retyped in one place fails here until the table says the same. A new table
(`contracts/<service>_rpc.py`) is picked up without editing this file."""
from __future__ import annotations

import ast
import pkgutil
import re
from importlib import import_module
from pathlib import Path
from typing import get_args, get_origin

import pytest

import contracts
from contracts.rpc import RpcTable, table_of

ROOT = Path(__file__).resolve().parents[2]
ROUTES = ROOT / "gateway" / "gateway" / "routes"

SERVICES = sorted(module.name.removesuffix("_rpc") for module in pkgutil.iter_modules(contracts.__path__)
                  if module.name.endswith("_rpc"))

# RPCs other services (or the gateway's own machinery) call, which have no HTTP route of their own, and why
NOT_ROUTED = {
    "export_subject_data": "compliance's data-subject export collects every service's part",
    "describe_appeal_target": "compliance checks an appeal's target with its owning service",
    "check_appeal_target": "compliance checks an appeal's target with its owning service",
    "org_snapshot": "the services' org read models (chassis.access.OrgSync) catch up from it",
    "authenticate_api_key": "the gateway's own authentication of API keys",
    "request_data_export": "the synchronous export for scripts; HTTP starts it and reads it back instead",
    "get_team_dashboard": "goals' sections of the gateway's my-team dashboard (gateway.routes.dashboard), one call",
}
ACTION = re.compile(r"(?<![\w.`])[a-z][a-z_]*(?:\.[a-z_]+)+(?![\w.`(])")


def test_every_service_has_a_table():
    services = {path.name for path in (ROOT / "services").iterdir() if (path / path.name / "service.py").exists()}
    assert {"goals", "feedback", "incentives", "notifications"} <= set(SERVICES), SERVICES
    assert set(SERVICES) <= services, f"a table for a service that does not exist: {set(SERVICES) - services}"


def service_class(service: str) -> type:
    module = import_module(f"{service}.service")
    found = [value for value in vars(module).values() if isinstance(value, type)
             and value.__module__ == module.__name__ and getattr(value, "name", None) == service]
    assert len(found) == 1, f"{service}.service: expected one class with name = {service!r}, found {found}"
    return found[0]


def rpc_methods(cls: type) -> set[str]:
    return {name for name, member in vars(cls).items()
            if any(type(entry).__name__ == "Rpc" for entry in getattr(member, "nameko_entrypoints", ()))}


def decoded_requests(service_file: Path, class_name: str) -> dict[str, str | None]:
    """method -> the contract class its body validates the payload with (None: validates nothing)."""
    tree = ast.parse(service_file.read_text())
    cls = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == class_name)
    found: dict[str, str | None] = {}
    for method in cls.body:
        if isinstance(method, ast.FunctionDef):
            found[method.name] = next(
                (node.func.value.attr for node in ast.walk(method) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Attribute) and node.func.attr == "model_validate"
                 and isinstance(node.func.value, ast.Attribute)), None)
    return found


def _contract_name(node: ast.expr | None) -> str | None:
    """`c.Model` -> "Model"; the gateway's own page envelope `page_of(schema_of(c.Item))` -> "page of Item"."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "page_of" and node.args:
        inner = node.args[0]
        if isinstance(inner, ast.Call) and inner.args and isinstance(inner.args[0], ast.Attribute):
            return f"page of {inner.args[0].attr}"
    return node.attr if isinstance(node, ast.Attribute) else None


def _answers(response: type, route_response: str | None) -> bool:
    """The route documents what the RPC answers: the same model, or a page of the model the RPC lists."""
    if route_response is None or not route_response.startswith("page of "):
        return route_response == response.__name__
    item = route_response.removeprefix("page of ")
    listed = (getattr(arg, "__name__", None) for info in response.model_fields.values()
              if get_origin(info.annotation) is list for arg in get_args(info.annotation))
    return item in listed


def _route_helper_service(tree: ast.Module) -> str | None:
    """The service a module's local `r(...)` helper forwards to: `rpc_route(..., f"<service>.{rpc}", ...)`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "r":
            for inner in ast.walk(node):
                if isinstance(inner, ast.JoinedStr) and inner.values and isinstance(inner.values[0], ast.Constant):
                    prefix = str(inner.values[0].value)
                    if prefix.endswith("."):
                        return prefix[:-1]
    return None


def gateway_routes(service: str) -> list[tuple[str, str, str | None, str | None]]:
    """(routes file, rpc method, request class, response class) of every gateway route forwarding to `service`:
    the `r(METHOD, PATH, "rpc", ...)` helper of a service's routes module, and `rpc_route(..., "svc.rpc", ...)`."""
    out = []
    for path in sorted(ROUTES.glob("*.py")):
        tree = ast.parse(path.read_text())
        helper = _route_helper_service(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) >= 3
                    and isinstance(node.args[2], ast.Constant) and isinstance(node.args[2].value, str)):
                continue
            keywords = {kw.arg: kw.value for kw in node.keywords}
            target = node.args[2].value
            if node.func.id == "r" and helper == service:
                method = target
            elif node.func.id == "rpc_route" and target.startswith(f"{service}."):
                method = target.split(".", 1)[1]
            else:
                continue
            out.append((path.name, method, _contract_name(keywords.get("request")),
                        _contract_name(keywords.get("response"))))
    return out


def other_gateway_calls(service: str) -> set[str]:
    """Methods of `service` the gateway calls by name outside routes (fan-outs such as the dashboard's)."""
    pattern = re.compile(rf"""["']{re.escape(service)}\.([a-z_]+)["']""")
    return {method for path in (ROOT / "gateway" / "gateway").rglob("*.py")
            for method in pattern.findall(path.read_text())}


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_exposes_and_decodes_exactly_the_declared_rpcs(service):
    table = table_of(service)
    assert isinstance(table, RpcTable) and table.service == service
    cls = service_class(service)
    exposed = rpc_methods(cls)
    assert not exposed - table.methods, f"{service} exposes RPCs its table does not declare"
    assert not table.methods - exposed, f"{service}'s table declares RPCs the service does not expose"
    decoded = decoded_requests(ROOT / "services" / service / service / "service.py", cls.__name__)
    wrong = {rpc.method: (decoded[rpc.method], None if rpc.request is None else rpc.request.__name__)
             for rpc in table if decoded[rpc.method] != (None if rpc.request is None else rpc.request.__name__)}
    assert not wrong, f"{service}: method -> (decodes with, declared): {wrong}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_gateway_routes_to_declared_rpcs_with_the_declared_contracts(service):
    table = table_of(service)
    routes = gateway_routes(service)
    assert routes, f"no gateway route forwards to {service}: has the routes module changed shape?"
    wrong = []
    for file, method, request, response in routes:
        if method not in table:
            wrong.append(f"{file}: routes to {service}.{method}, which the table does not declare")
            continue
        rpc = table[method]
        declared = (None if rpc.request is None else rpc.request.__name__, rpc.response.__name__)
        if request != declared[0] or not _answers(rpc.response, response):
            wrong.append(f"{file}: {method} routes {(request, response)}, the table declares {declared}")
    called = other_gateway_calls(service) - table.methods
    wrong += [f"the gateway calls {service}.{method}, which the table does not declare" for method in sorted(called)]
    unrouted = table.methods - {method for _, method, _, _ in routes} - set(NOT_ROUTED)
    wrong += [f"{service}.{method} is declared but has no route (or a reason in NOT_ROUTED)" for method in
              sorted(unrouted)]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("service", SERVICES)
def test_declared_actions_are_actions_the_policy_knows(service):
    from chassis.access.policy import RULES

    service_class(service)  # importing the service registers its actions (explicitly, from its module)
    try:
        own = import_module(f"{service}.access")
    except ModuleNotFoundError:
        own = None
    # a service's own action names: those it registers (RULES), or its names for policy actions (goals' POLICY)
    known = set(RULES) | set(getattr(own, "RULES", {})) | set(getattr(own, "POLICY", {}))
    unknown = {(rpc.method, action) for rpc in table_of(service) for action in ACTION.findall(rpc.access)
               if action not in known}
    assert not unknown, f"{service}: (method, action) pairs no registered rule decides: {sorted(unknown)}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_readme_rpc_table_is_the_generated_one(service):
    """The README carries the table verbatim (`python -m contracts.rpc <service>` prints it), so it cannot drift."""
    table = table_of(service)
    markdown = table.markdown()
    assert markdown.count(f"\n| `{service}.") == len(table.rpcs)
    readme = (ROOT / "services" / service / "README.md").read_text()
    assert markdown in readme, (
        f"services/{service}/README.md does not carry its RPC table as declared: replace it with the output of "
        f"`python -m contracts.rpc {service}`")
    mentioned = set(re.findall(rf"`{service}\.([a-z_]+)`", readme)) - {"events"}  # `<service>.events`: its exchange
    assert mentioned <= table.methods, f"the README names undeclared RPCs: {sorted(mentioned - table.methods)}"


def test_the_generated_table_shows_the_contracts_and_the_action():
    markdown = table_of("goals").markdown()
    assert "| `goals.record_progress` | `RecordProgress` | `ProgressRecorded` | goal.progress |" in markdown
