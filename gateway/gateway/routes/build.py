"""Declaring a route that forwards to one RPC, from the RPC's contract: what the URL carries leaves the body or
query schema, `expected_version` comes from If-Match, `limit`/`cursor` from the page query, ETag from `version`.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from pydantic import BaseModel

from gateway.api import Route, forward, path_params
from gateway.pagination import Paging
from gateway.schemas.common import query_with_page
from gateway.schemas.convert import field_of, schema_of

VERSION_FIELD = "expected_version"


def reader(target: str):
    """The If-Match reader of an update: the read RPC, with the path parameters (or nothing) as its payload."""
    def read(ctx) -> Any:
        return ctx.call(target, dict(ctx.params)) if ctx.params else ctx.call(target)
    return read


def _schema(value: Any) -> type[Schema] | None:
    if value is None:
        return None
    if isinstance(value, type) and issubclass(value, BaseModel):
        return schema_of(value)
    return value


def path_schema(params: list[str], contract: type[BaseModel] | None, name: str,
                rename: dict[str, str]) -> Schema | None:
    """The path parameters, typed by the contract fields they become (plain strings otherwise)."""
    if not params:
        return None
    attrs: dict[str, Any] = {}
    for param in params:
        info = contract.model_fields.get(rename.get(param, param)) if contract is not None else None
        if info is not None:
            attrs[param] = field_of(info.annotation, info.metadata, required=True, description=info.description)
        else:
            attrs[param] = fields.String(required=True)
    attrs["Meta"] = type("Meta", (), {"register": False})
    return type(name, (Schema,), attrs)()


def rpc_route(method: str, path: str, target: str, *, summary: str, scope: str | None, tag: str,
              request: type[BaseModel] | None = None, response: Any = None, paging: Paging | None = None,
              creates: bool = False, status: int | None = None, rename: dict[str, str] | None = None,
              payload: bool = True, description: str = "", operation_id: str = "", max_body: int | None = None,
              read: str | None = None) -> Route:
    """A route forwarding to `target` ("service.method"); `request` is the RPC's payload contract and `response`
    its result contract (or a marshmallow schema class for what the gateway answers itself). `rename` maps path
    parameters onto contract fields; `payload=False` for an RPC that takes no argument. `read` names the RPC that
    reads the current representation, for If-Match on an update whose contract takes no `expected_version`."""
    rename = rename or {}
    params = path_params(path)
    operation_id = operation_id or target.split(".", 1)[1]
    in_query = method in ("GET", "DELETE")
    query = body = None
    version_field = None
    version_required = False
    if request is not None:
        dropped = {*params, *(rename.get(p, p) for p in params), VERSION_FIELD}
        if paging is not None:
            dropped |= {paging.limit, paging.cursor}
        if VERSION_FIELD in request.model_fields:
            version_field = VERSION_FIELD
            version_required = request.model_fields[VERSION_FIELD].is_required()
        kept = [name for name in request.model_fields if name not in dropped]
        suffix = "Query" if in_query else "Body"
        if set(request.model_fields) - set(kept) or in_query:
            cls = schema_of(request, exclude=tuple(sorted(set(request.model_fields) - set(kept))),
                            name=request.__name__ + suffix)
        else:
            cls = schema_of(request)
        if in_query:
            query = query_with_page(cls, f"{request.__name__}Query{'Page' if paging else ''}")() if paging else (
                cls() if kept else None)
        elif kept:
            body = cls()
    elif paging is not None:
        query = query_with_page(None, f"{operation_id.title().replace('_', '')}Query")()
    response_schema = _schema(response)
    etag = method == "GET" and paging is None and isinstance(response, type) and issubclass(response, BaseModel) \
        and "version" in response.model_fields
    return Route(
        method, path, forward(target, rename=rename, payload=payload), summary, tag, scope,
        query=query, body=body, response=response_schema() if response_schema else None,
        status=status or (201 if creates else 200), description=description, paging=paging, creates=creates,
        etag=etag, version_field=version_field, operation_id=operation_id,
        path_schema=path_schema(params, request, f"{operation_id.title().replace('_', '')}Path", rename),
        max_body=max_body, if_match=reader(read) if read else None, if_match_required=version_required,
    )

