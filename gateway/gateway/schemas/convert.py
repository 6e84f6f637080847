"""Marshmallow schemas derived from the pydantic contracts, so that the edge validates and documents exactly what
the services accept and answer, and cannot drift from them as the contracts grow.

Routes take a contract's schema as the request body (minus what the URL carries), as query parameters (list
filters) or as the documented response. Rules a type cannot express (a pydantic validator) stay with the
service, which answers 400 naming the field all the same.
"""
from __future__ import annotations

import datetime as dt
import decimal
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from marshmallow import RAISE, Schema, fields, validate
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from gateway.schemas.fields import Exact

_schemas: dict[tuple, type[Schema]] = {}


def schema_of(model: type[BaseModel], *, exclude: tuple[str, ...] = (), name: str | None = None,
              extra: dict[str, fields.Field] | None = None) -> type[Schema]:
    """The marshmallow schema class of a contract model (made once; apispec names it `name`)."""
    name = name or model.__name__
    key = (model, tuple(sorted(exclude)), name)
    made = _schemas.get(key)
    if made is not None:
        return made
    attrs: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        if field_name in exclude:
            continue
        attrs[field_name] = field_of(info.annotation, info.metadata, required=info.is_required(),
                                     description=info.description)
    attrs.update(extra or {})
    attrs["Meta"] = type("Meta", (), {"unknown": RAISE, "register": False})
    doc = (model.__doc__ or "").strip()
    if doc and not doc.startswith(("A base", "Base")):
        attrs["__doc__"] = doc
    made = type(name, (Schema,), attrs)
    _schemas[key] = made
    return made


def _constraints(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            found.update(_constraints(item.metadata))
            continue
        for attr in ("min_length", "max_length", "pattern", "ge", "gt", "le", "lt", "decimal_places", "max_digits"):
            value = getattr(item, attr, None)
            if value is not None:
                found[attr] = value
    return found


def _validators(constraints: dict[str, Any], numeric: bool) -> list[validate.Validator]:
    out: list[validate.Validator] = []
    if numeric:
        low = constraints.get("ge", constraints.get("gt"))
        high = constraints.get("le", constraints.get("lt"))
        if low is not None or high is not None:
            out.append(validate.Range(min=low, max=high, min_inclusive="gt" not in constraints,
                                      max_inclusive="lt" not in constraints))
        return out
    if "min_length" in constraints or "max_length" in constraints:
        out.append(validate.Length(min=constraints.get("min_length"), max=constraints.get("max_length")))
    if "pattern" in constraints:
        out.append(validate.Regexp(constraints["pattern"]))
    return out


def field_of(annotation: Any, metadata: list[Any] | None = None, *, required: bool = False,
             allow_none: bool = False, description: str | None = None) -> fields.Field:
    """The marshmallow field for a pydantic annotation and its constraint metadata."""
    metadata = list(metadata or [])
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        base, *more = get_args(annotation)
        return field_of(base, [*metadata, *more], required=required, allow_none=allow_none,
                        description=description)
    options: dict[str, Any] = {"required": required, "allow_none": allow_none}
    if description:
        options["metadata"] = {"description": description}
    if origin in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        nullable = len(members) < len(get_args(annotation))
        if len(members) == 1:
            return field_of(members[0], metadata, required=required, allow_none=allow_none or nullable,
                            description=description)
        return fields.Raw(**{**options, "allow_none": allow_none or nullable})
    constraints = _constraints(metadata)
    if origin is Literal:
        choices = list(get_args(annotation))
        if all(isinstance(choice, str) for choice in choices):
            return fields.String(validate=validate.OneOf(choices), **options)
        return fields.Raw(validate=validate.OneOf(choices), **options)
    if origin in (list, tuple, set, frozenset):
        inner = get_args(annotation)[0] if get_args(annotation) else Any
        return fields.List(field_of(inner, required=True), validate=_validators(constraints, False), **options)
    if origin is dict:
        key_type, value_type = get_args(annotation) or (str, Any)
        return fields.Dict(keys=field_of(key_type, required=True), values=field_of(value_type, required=True),
                           validate=_validators(constraints, False), **options)
    if annotation is Any:
        return fields.Raw(**{**options, "allow_none": True})
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return fields.Nested(schema_of(annotation), **options)
    if annotation is bool:
        return fields.Boolean(**options)
    if annotation is int:
        return fields.Integer(validate=_validators(constraints, True), **options)
    if annotation is float:
        return fields.Float(validate=_validators(constraints, True), **options)
    if annotation is decimal.Decimal:
        return Exact(validate=_validators(constraints, True), decimal_places=constraints.get("decimal_places"),
                     max_digits=constraints.get("max_digits"), **options)
    if annotation is dt.datetime:
        return fields.AwareDateTime(**options)
    if annotation is dt.date:
        return fields.Date(**options)
    if annotation is str:
        return fields.String(validate=_validators(constraints, False), **options)
    return fields.Raw(**options)
