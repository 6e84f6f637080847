"""Swagger UI from the package's own static files, the AsyncAPI document of the events, and the OpenAPI description
of the paths outside /api/v1."""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

STATIC = Path(__file__).parent / "static"
ASSETS = {
    "swagger-ui-bundle.js": (STATIC / "swagger-ui" / "swagger-ui-bundle.js", "application/javascript"),
    "swagger-ui.css": (STATIC / "swagger-ui" / "swagger-ui.css", "text/css"),
    "favicon-32x32.png": (STATIC / "swagger-ui" / "favicon-32x32.png", "image/png"),
    "docs-init.js": (STATIC / "docs-init.js", "application/javascript"),
}
PAGE = STATIC / "docs.html"
ASYNCAPI_MEDIA = "application/yaml"


@cache
def asyncapi_document() -> bytes:
    """The events' AsyncAPI 3.0 document, made from the contracts as docs/asyncapi.yaml is (once per process)."""
    from contracts.catalogue import asyncapi_yaml

    return asyncapi_yaml().encode()


@cache
def read(path: Path) -> bytes:
    return path.read_bytes()


def _plain(summary: str, media: str | list[str], schema: dict[str, Any], parameters: list | None = None,
           tag: str = "meta", more: dict[str, Any] | None = None) -> dict[str, Any]:
    content = {kind: {"schema": schema} for kind in ([media] if isinstance(media, str) else media)}
    operation = {"summary": summary, "tags": [tag], "security": [], "operationId": summary.lower().replace(" ", "_"),
                 "responses": {"200": {"description": "OK", "content": content}, **(more or {})}}
    if parameters:
        operation["parameters"] = parameters
    return operation


_PROBE = {"type": "object", "required": ["status", "service"],
          "properties": {"status": {"type": "string"}, "service": {"type": "string"},
                         "checks": {"type": "object"}}}

OPERATIONAL_PATHS: dict[str, dict[str, Any]] = {
    "/api/openapi.json": {"get": _plain("OpenAPI document", "application/json", {"type": "object"})},
    # a YAML document is an object to a client that reads YAML (schemathesis does), not a string
    "/api/asyncapi.yaml": {"get": _plain("AsyncAPI document", ASYNCAPI_MEDIA, {"type": "object"})},
    "/api/docs": {"get": _plain("Swagger UI", "text/html", {"type": "string"})},
    "/api/docs/{asset}": {"get": _plain(
        "Swagger UI asset", sorted({media for _, media in ASSETS.values()}), {"type": "string"},
        parameters=[{"in": "path", "name": "asset", "required": True,
                     "schema": {"type": "string", "enum": sorted(ASSETS)}}],
        more={"404": {"description": "No such asset"}})},
    "/health/live": {"get": _plain("Liveness", "application/json", _PROBE, tag="operations")},
    "/health/ready": {"get": _plain("Readiness", "application/json", _PROBE, tag="operations",
                                    more={"503": {"description": "Not ready",
                                                  "content": {"application/json": {"schema": _PROBE}}}})},
    "/metrics": {"get": _plain("Prometheus metrics", "text/plain", {"type": "string"}, tag="operations")},
}
