"""Each RPC declared once (contracts.rpc): the goals table against the service class, the service's decoding,
the gateway's routes and the actions goals registers. A method added, renamed or retyped in one place fails here
until the table says the same."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from contracts.rpc import RpcTable, table_of

ROOT = Path(__file__).resolve().parents[2]


def rpc_methods(service_class) -> set[str]:
    return {name for name, member in vars(service_class).items()
            if any(type(entry).__name__ == "Rpc" for entry in getattr(member, "nameko_entrypoints", ()))}


def decoded_requests(service_file: Path, class_name: str) -> dict[str, str | None]:
    """method -> the contract class its body validates the payload with (None: takes no payload)."""
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


def gateway_routes(routes_file: Path, service: str) -> list[tuple[str, str | None, str | None]]:
    """(rpc method, request class, response class) of every `r(METHOD, PATH, "rpc", ...)` route."""
    out = []
    for node in ast.walk(ast.parse(routes_file.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "r" \
                and len(node.args) >= 3 and isinstance(node.args[2], ast.Constant):
            keywords = {kw.arg: kw.value for kw in node.keywords}
            names = [keywords[k].attr if isinstance(keywords.get(k), ast.Attribute) else None
                     for k in ("request", "response")]
            out.append((node.args[2].value, names[0], names[1]))
    return out


def test_goals_service_exposes_exactly_the_declared_rpcs():
    from goals.service import GoalsService

    table = table_of("goals")
    assert isinstance(table, RpcTable)
    assert rpc_methods(GoalsService) == table.methods
    decoded = decoded_requests(ROOT / "services" / "goals" / "goals" / "service.py", "GoalsService")
    for rpc in table:
        expected = rpc.request.__name__ if rpc.request is not None else None
        assert decoded[rpc.method] == expected, rpc.method


def test_gateway_routes_to_goals_use_the_declared_contracts():
    table = table_of("goals")
    routes = gateway_routes(ROOT / "gateway" / "gateway" / "routes" / "goals.py", "goals")
    assert routes, "no routes found: has the routes module changed shape?"
    for method, request, response in routes:
        assert method in table, f"the gateway routes to goals.{method}, which goals does not declare"
        rpc = table[method]
        assert request == (rpc.request.__name__ if rpc.request is not None else None), method
        assert response == rpc.response.__name__, method


def test_declared_actions_are_actions_goals_decides():
    import goals.access

    known = set(re.findall(r"^([a-z]+\.[a-z.]+)\s{2,}", goals.access.__doc__ or "", re.MULTILINE)) | {"dsr.request"}
    for rpc in table_of("goals"):
        action = rpc.access.split()[0].rstrip(",")
        if re.fullmatch(r"[a-z]+\.[a-z.]+", action):
            assert action in known, (rpc.method, action)


def test_the_readme_table_is_generated_from_the_declaration():
    table = table_of("goals")
    markdown = table.markdown()
    assert markdown.count("\n| `goals.") == len(table.rpcs)
    assert "| `goals.record_progress` | `RecordProgress` | `ProgressRecorded` | goal.progress |" in markdown
