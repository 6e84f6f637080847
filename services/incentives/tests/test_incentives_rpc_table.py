"""Each RPC declared once (contracts.incentives_rpc): the service exposes exactly the table's methods and decodes
each payload with the table's request model; the gateway's incentives routes name the same request and response
models (read from the routes' source, so that this service's tests import no gateway)."""
from __future__ import annotations

import ast
from pathlib import Path

from contracts.rpc import table_of
from incentives.service import IncentivesService

ROOT = Path(__file__).resolve().parents[3]


def test_the_service_exposes_and_decodes_exactly_the_declared_rpcs():
    table = table_of("incentives")
    exposed = {name for name, member in vars(IncentivesService).items()
               if any(type(entry).__name__ == "Rpc" for entry in getattr(member, "nameko_entrypoints", ()))}
    assert exposed == table.methods
    tree = ast.parse((ROOT / "services/incentives/incentives/service.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "IncentivesService")
    for method in (n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name in table):
        decoded = next((node.func.value.attr for node in ast.walk(method) if isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Attribute) and node.func.attr == "model_validate"
                        and isinstance(node.func.value, ast.Attribute)), None)
        expected = table[method.name].request
        assert decoded == (None if expected is None else expected.__name__), method.name


def test_gateway_routes_use_the_declared_contracts():
    table = table_of("incentives")
    source = (ROOT / "gateway/gateway/routes/incentives.py").read_text()
    routed = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "r":
            keywords = {kw.arg: kw.value for kw in node.keywords}
            routed[node.args[2].value] = tuple(keywords[k].attr if k in keywords else None
                                               for k in ("request", "response"))
    assert set(routed) == table.methods - {"export_subject_data"}  # compliance collects exports, not HTTP
    for method, (request, response) in routed.items():
        rpc = table[method]
        assert request == (None if rpc.request is None else rpc.request.__name__), method
        assert response == rpc.response.__name__, method
