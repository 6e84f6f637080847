"""The OpenAPI 3.1 document, generated with apispec from the same route declarations and marshmallow schemas that
the edge validates with — a route cannot exist undocumented.
"""
from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

from gateway import idempotency
from gateway.api import PREFIX, Route, requires_input
from gateway.problems import PROBLEM_JSON
from gateway.schemas.common import Problem
from gateway.schemas.fields import Exact, openapi_attributes
from gateway.scopes import SCOPES

DESCRIPTION = """The Jixiao admin API: goals and compliance, for HR systems, administrators and the web dashboard.

**Authentication.** People send `Authorization: Bearer <JWT>` (RS256/ES256 from the configured identity
provider; in development, `POST /api/v1/dev/login` issues tokens for the demo users). Integrations send their API
key as `X-Api-Key: <key>` or `Authorization: ApiKey <key>`. Every operation names the scope it needs
(`x-required-scope`); what a person may see beyond that (their own goals, their reporting line, their HR units)
the services decide.

**Errors** are RFC 9457 problem documents (`application/problem+json`) with the failing fields in `errors` and a
`correlation_id`: 400 when the request breaks a rule this document states (types, bounds, patterns, required
fields and headers), 422 when it is valid by the document and a rule it cannot state refuses it (a reference to
something that does not exist, fields that go together, the state of things). **Lists** take `limit` and
`cursor` (only a `next_cursor` the same list answered) and answer `{"items": [...], "next_cursor": ...}`.
**Updates** honour `If-Match` with the `ETag` of the last read (409 when stale). **Every write** (POST, PUT,
PATCH, DELETE: creations and edits alike) honours `Idempotency-Key` (a retry gets the first answer, marked
`Idempotent-Replayed: true`, and is not carried out again; the same key with another body is a 422; after a 504
the key stays bound to the first attempt: a retry is carried out at most once and answers what the first attempt
answered, the same status and body, waiting for it within its deadline while it is still on its way; 409
`idempotency-key-completed` only when that answer can never come, e.g. the gateway that sent the first attempt
stopped: read the resource). Every response carries
`X-Request-Id` (yours, or a new one), which is also the correlation id in every log line and event it causes.
"""

# what every operation may answer, beyond its success
COMMON_ERRORS = (400, 404, 422, 429, 500, 503, 504)
ERROR_TEXT = {
    400: "Invalid input: the request breaks a rule this document states; `errors` names each failing field",
    401: "Missing, invalid or expired credentials (or a token living longer than the configured maximum)",
    403: "The credentials lack the scope, or the service refuses this actor",
    404: "No such resource (or not visible to this actor)",
    409: "Conflict: stale If-Match, a state that forbids this, an Idempotency-Key in use, or a retry whose first "
         "attempt was already carried out",
    413: "The body is too large",
    415: "The body is not JSON",
    422: "Valid by this document, refused by a rule it cannot state: a reference to what does not exist, "
         "fields that go together, the state of things (`errors` names the fields); or an Idempotency-Key reused "
         "for another request",
    429: "Rate limited, or too many failed authentications with this credential, for this subject or (a high "
         "ceiling) from this address: retry after `Retry-After` seconds",
    500: "Unexpected: quote the correlation id",
    503: "A service or the broker is unavailable: retry after `Retry-After` seconds",
    504: "A service did not answer in time",
}
# what gateway.api.parse_etags takes: `*`, or quoted tags (optionally weak) separated by commas; empty is absent
_TAG = r'[ \t]*(W/)?"[^",]{1,128}"[ \t]*'
ETAG_LIST = rf"^(|[ \t]*\*[ \t]*|{_TAG}(,{_TAG})*)$"
ETAG_TAGS = rf"^{_TAG}(,{_TAG})*$"  # a required If-Match: the tags themselves
_REQUEST_ID = {"description": "the request's id (the client's X-Request-Id, or a new one)",
               "schema": {"type": "string"}, "required": True}


def _problem_response(status: int) -> dict[str, Any]:
    headers = {"X-Request-Id": _REQUEST_ID}
    if status in (429, 503):
        headers["Retry-After"] = {"description": "seconds to wait", "schema": {"type": "string"}}
    if status == 401:
        headers["WWW-Authenticate"] = {"description": "the accepted schemes", "schema": {"type": "string"}}
    return {"description": ERROR_TEXT[status], "headers": headers,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _header(name: str, description: str, schema: dict[str, Any] | None = None,
            required: bool = False) -> dict[str, Any]:
    return {"in": "header", "name": name, "required": required, "description": description,
            "schema": schema or {"type": "string"}}


def _operation(route: Route) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": [_header("X-Request-Id", "your id for this request (up to 128 letters, digits and `._:-`; "
                                               "anything else is replaced by a new id); it comes back and is the "
                                               "correlation id")],
    }
    if route.description:
        operation["description"] = route.description
    if route.scope is None:
        operation["security"] = []
    else:
        operation["security"] = [{"bearer": []}, {"apiKey": []}]
        operation["x-required-scope"] = route.scope or "any authenticated caller"
    if route.path_schema is not None:
        operation["parameters"].append({"in": "path", "schema": route.path_schema})
    if route.query is not None:
        operation["parameters"].append({"in": "query", "schema": route.query})
    if route.takes_key:
        operation["parameters"].append(_header("Idempotency-Key", "do this at most once: a retry with the same "
                                                                  "key and body gets the first answer",
                                               {"type": "string", "pattern": idempotency.KEY_PATTERN.pattern}))
    if route.version_field or route.if_match is not None:
        operation["parameters"].append(_header(
            "If-Match", "the ETag of the version you read; 409 when stale" + (
                " (required: the service checks the version)" if route.if_match_required else ""),
            {"type": "string", "pattern": ETAG_TAGS if route.if_match_required else ETAG_LIST},
            required=route.if_match_required))
    if route.etag:
        operation["parameters"].append(_header("If-None-Match", "an ETag you hold; 304 when unchanged",
                                               {"type": "string", "pattern": ETAG_LIST}))
    if route.body is not None:
        operation["requestBody"] = {"required": requires_input(route.body),
                                    "content": {"application/json": {"schema": route.body}}}
    headers: dict[str, Any] = {"X-Request-Id": _REQUEST_ID}
    if route.etag or route.version_field or route.if_match is not None:
        headers["ETag"] = {"description": "the version of what was answered", "schema": {"type": "string"}}
    if route.takes_key:
        headers["Idempotent-Replayed"] = {"description": "`true` when this is the stored answer of an earlier "
                                                         "request with the same Idempotency-Key",
                                          "schema": {"type": "string"}}
    if route.paging is not None:
        headers["Link"] = {"description": 'the next page, `rel="next"`', "schema": {"type": "string"}}
    content: dict[str, Any] = ({media: {"schema": {"type": "string", "format": "binary"}} for media in route.files}
                               if route.files else {"application/json": {"schema": route.response}})
    responses: dict[str, Any] = {
        str(route.status): {"description": {201: "Created", 202: "Accepted"}.get(route.status, "OK"),
                            "headers": headers, "content": content},
    }
    if route.etag:
        responses["304"] = {"description": "Not modified since the ETag in If-None-Match",
                            "headers": {"X-Request-Id": _REQUEST_ID, "ETag": headers["ETag"]}}
    statuses = set(COMMON_ERRORS)
    if route.scope is not None:
        statuses |= {401, 403}
    if route.method in ("POST", "PUT", "PATCH", "DELETE"):
        statuses.add(409)
    if route.body is not None:
        statuses |= {413, 415}
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
    operation["responses"] = responses
    return operation


def _response_fields(route: Route) -> set[str]:
    schema = route.response() if isinstance(route.response, type) else route.response
    return set(getattr(schema, "fields", {}) or {})


def _follows(producer: Route, consumer: Route) -> str | None:
    """The parameter of `consumer` that names what `producer` made or changed, when it does: `POST /goals` ->
    `/goals/{goal_id}...`, `POST /goals/{goal_id}/commitments` -> `/commitments/{commitment_id}`, `PUT /people/
    {person_id}` -> `GET /people/{person_id}`."""
    if consumer is producer or not consumer.params:
        return None
    new = [p for p in consumer.params if p not in producer.params]
    if not new:  # an upsert: the same record, by the same path
        return consumer.params[-1] if producer.method == "PUT" and consumer.path.startswith(producer.path) else None
    prefixes = [producer.path]
    if producer.params:  # made under its parent (/goals/{goal_id}/commitments), addressed alone (/commitments/{id})
        prefixes.append("/" + producer.path.rsplit("/", 1)[-1])
    for prefix in prefixes:
        if "{" not in prefix.rsplit("/", 1)[-1] and consumer.path.startswith(f"{prefix}/{{{new[0]}}}"):
            return new[0]
    return None


def links_of(routes: list[Route]) -> dict[Route, dict[str, Any]]:
    """OpenAPI links from each creating or upserting operation to the operations on what it answered, so stateful
    clients (and schemathesis's stateful phase) can chain create -> read/update with real ids."""
    found: dict[Route, dict[str, Any]] = {}
    for producer in routes:
        if producer.method not in ("POST", "PUT") or not 200 <= producer.status < 300:
            continue
        answered = _response_fields(producer)
        for consumer in routes:
            made = _follows(producer, consumer)
            if made is None:
                continue
            parameters: dict[str, str] = {}
            for param in consumer.params:
                if param in producer.params:
                    parameters[param] = f"$request.path.{param}"
                elif param in answered:
                    parameters[param] = f"$response.body#/{param}"
                elif param == made and "id" in answered:
                    parameters[param] = "$response.body#/id"
            if made not in parameters:
                continue
            found.setdefault(producer, {})[consumer.operation_id] = {
                "operationId": consumer.operation_id, "parameters": parameters,
                "description": f"{consumer.method} {PREFIX}{consumer.path} on what this answered"}
    return found


def dict_keys(converter, field, ret, **kwargs) -> dict[str, Any]:
    """apispec attribute function: a map's key rules (one of a list, a pattern, a length), which the edge enforces
    and apispec leaves out, stated as `propertyNames`."""
    keys = getattr(field, "key_field", None)
    if not isinstance(field, fields.Dict) or keys is None:
        return {}
    rules = {name: value for name, value in converter.field2property(keys).items()
             if name in ("enum", "pattern", "minLength", "maxLength", "format")}
    return {"propertyNames": rules} if rules else {}


def _schema_name(schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__


def build_spec(routes: list[Route], extra_paths: dict[str, dict[str, Any]], version: str = "1.0.0") -> dict:
    plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec(title="Jixiao API", version=version, openapi_version="3.1.0", plugins=[plugin],
                   info={"description": DESCRIPTION, "license": {"name": "Apache-2.0",
                                                                   "identifier": "Apache-2.0"}})
    plugin.converter.map_to_openapi_type(Exact, None, None)
    plugin.converter.add_attribute_function(openapi_attributes)
    plugin.converter.add_attribute_function(dict_keys)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.security_scheme("apiKey", {"type": "apiKey", "in": "header", "name": "X-Api-Key",
                                               "description": "or `Authorization: ApiKey <key>`"})
    spec.components.schema("Problem", schema=Problem)
    for status in ERROR_TEXT:
        spec.components.response(f"Problem{status}", _problem_response(status))
    by_path: dict[str, dict[str, Any]] = {}
    for route in routes:
        by_path.setdefault(PREFIX + route.path, {})[route.method.lower()] = _operation(route)
    for route, links in links_of(routes).items():
        by_path[PREFIX + route.path][route.method.lower()]["responses"][str(route.status)]["links"] = links
    for path, operations in {**extra_paths, **by_path}.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    document["x-scopes"] = SCOPES
    return document
