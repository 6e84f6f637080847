"""The gateway's own schemas: problem documents, page envelopes, page queries."""
from __future__ import annotations

from marshmallow import INCLUDE, RAISE, Schema, fields, validate

from gateway.pagination import CURSOR_PATTERN, DEFAULT_LIMIT, MAX_LIMIT


class FieldError(Schema):
    class Meta:
        unknown = INCLUDE

    field = fields.String(required=True, metadata={"description": "path of the failing field: `weights.0.value`"})
    in_ = fields.String(data_key="in", validate=validate.OneOf(["body", "query", "header", "path"]),
                        metadata={"description": "where the field is: the JSON body, the query string, a header or "
                                                 "the URL path"})
    message = fields.String(required=True, metadata={
        "description": "what is wrong with the field, in the caller's language (Accept-Language: zh-CN or en)"})


class Problem(Schema):
    """An RFC 9457 problem document. Extension members (`correlation_id`, `required_scope`...) may appear."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, metadata={
        "description": "the problem's kind, a URI `https://jixiao.dev/problems/<code>` (stable: match on it)"})
    title = fields.String(required=True, metadata={
        "description": "the kind's short summary, in the caller's language (Accept-Language: zh-CN or en)"})
    status = fields.Integer(required=True, metadata={"description": "the HTTP status code, as answered"})
    detail = fields.String(required=True, metadata={"description": "what went wrong this time, for a person to read"})
    errors = fields.List(fields.Nested(FieldError))
    correlation_id = fields.String(metadata={"description": "quote it when reporting a problem"})


class PageQuery(Schema):
    """`limit` and `cursor` of every list; a list's filters extend it."""

    class Meta:
        unknown = RAISE

    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT),
                           metadata={"description": f"items per page, 1..{MAX_LIMIT}"})
    # opaque: base64url the gateway wrote; a value it did not give out is a 400 naming `cursor`, which no schema
    # can state (format `cursor`: a client takes it from `next_cursor`)
    cursor = fields.String(validate=[validate.Length(1, 1000), validate.Regexp(CURSOR_PATTERN)],
                           metadata={"description": "`next_cursor` of the previous page, exactly as answered (only "
                                                    "a cursor this list gave out)", "format": "cursor"})


_pages: dict[type[Schema], type[Schema]] = {}


def page_of(item: type[Schema], name: str | None = None) -> type[Schema]:
    """The envelope of one page of `item`s."""
    made = _pages.get(item)
    if made is None:
        made = type(name or f"{item.__name__}Page", (Schema,), {
            "__doc__": f"One page of {item.__name__}; pass `next_cursor` as `cursor` for the next one.",
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(required=True, allow_none=True),
            "Meta": type("Meta", (), {"unknown": RAISE, "register": False}),
        })
        _pages[item] = made
    return made


def query_with_page(filters: type[Schema] | None, name: str) -> type[Schema]:
    """A list's query schema: its filters plus `limit` and `cursor`."""
    bases = (filters, PageQuery) if filters is not None else (PageQuery,)
    return type(name, bases, {"Meta": type("Meta", (), {"unknown": RAISE, "register": False})})
