"""The published catalogue: JSON Schema for every contract and an AsyncAPI 3.0 document of every event.

    python -m contracts.catalogue docs           # (re)write docs/asyncapi.yaml and docs/schemas/*.json
    python -m contracts.catalogue docs --check   # fail if docs/ is not what the models say

Generated from the pydantic models, so a third party can consume our events without reading our code.
"""
from __future__ import annotations

import argparse
import json
import pkgutil
import sys
from importlib import import_module
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

import contracts
from contracts.base import Contract, Event
from contracts.envelope import Envelope

INFRASTRUCTURE = {"base", "envelope", "actor", "catalogue"}
SCHEMA_REF = "#/components/schemas/{model}"

# The one vhost of the suite's events in every deployment (deploy/k8s, deploy/README.md, docs/integrating.md;
# tests/docs/test_integrating.py holds them to it), and the broker's address inside the cluster.
VHOST = "jixiao"
BROKER_HOST = "jixiao-rabbitmq:5672"


def contract_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(contracts.__path__) if m.name not in INFRASTRUCTURE)


def load_all() -> list[type[Contract]]:
    """Every contract model defined in a domain module, in a stable order."""
    models: list[type[Contract]] = []
    for name in contract_modules():
        module = import_module(f"contracts.{name}")
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, Contract) and value.__module__ == module.__name__
                    and value not in models):
                models.append(value)
    return sorted(models, key=lambda m: (m.__module__, m.__name__))


def events() -> list[type[Event]]:
    load_all()
    modules = {f"contracts.{name}" for name in contract_modules()}
    published = [e for e in Event.registry.values() if e.__module__ in modules]  # not test doubles
    return sorted(published, key=lambda e: e.type)


def _pascal(event_type: str) -> str:
    parts = event_type.split(".")[1:]
    return "".join(p.replace("_", " ").title().replace(" ", "") for p in parts)


def json_schemas() -> dict[str, dict[str, Any]]:
    """One standalone JSON Schema (2020-12) per contract, keyed by `<module>.<Model>`."""
    out = {}
    for model in load_all():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://jixiao.dev/schemas/{model.__module__.removeprefix('contracts.')}.{model.__name__}.json"
        if issubclass(model, Event) and "type" in model.__dict__:
            schema["x-event-type"] = model.type
        out[f"{model.__module__.removeprefix('contracts.')}.{model.__name__}"] = schema
    return out


def asyncapi() -> dict[str, Any]:
    event_models = events()
    pairs: list[tuple[type[BaseModel], Literal["validation"]]] = [(Envelope, "validation")]
    pairs += [(m, "validation") for m in event_models]
    keys, top = models_json_schema(pairs, ref_template=SCHEMA_REF)
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    envelope_ref = keys[(Envelope, "validation")]["$ref"]
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for model in event_models:
        name = _pascal(model.type)
        data_ref = keys[(model, "validation")]["$ref"]
        schemas[f"{name}Envelope"] = {
            "allOf": [
                {"$ref": envelope_ref},
                {"type": "object", "properties": {"type": {"const": model.type}, "data": {"$ref": data_ref}}},
            ],
        }
        service = model.service()
        messages[name] = {
            "name": model.type,
            "title": model.__name__,
            "summary": (model.__doc__ or model.__name__).strip().splitlines()[0],
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{name}Envelope"},
            "headers": {"$ref": "#/components/schemas/ContextHeaders"},
        }
        channels[name] = {
            "address": model.type,
            "description": f"Routing key `{model.type}` on the topic exchange `{service}.events`.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {"amqp": {
                "is": "routingKey",
                "exchange": {"name": f"{service}.events", "type": "topic", "durable": True, "autoDelete": False,
                             "vhost": VHOST},
                "bindingVersion": "0.3.0",
            }},
        }
        operations[f"publish{name}"] = {
            "action": "send",
            "title": f"{service} publishes {model.__name__}",
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": [{"$ref": f"#/channels/{name}/messages/{name}"}],
            "bindings": {"amqp": {"deliveryMode": 2, "mandatory": False, "bindingVersion": "0.3.0"}},
        }
    schemas["ContextHeaders"] = {
        "type": "object",
        "description": "nameko context data: the correlation id, as in the envelope. Events carry no actor header: "
                       "the envelope's `actor` (id and kind) is all they say about who acted.",
        "properties": {
            "nameko.correlation_id": {"type": "string", "description": "the id of the request that caused the "
                                      "event, the envelope's `correlationid`"},
        },
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Jixiao events",
            "version": "1.0.0",
            "description": (
                "Every state change in Jixiao is published as a CloudEvents 1.0 envelope (structured JSON) on its "
                "service's topic exchange `<service>.events`, with the event type as routing key. Events are "
                "persistent and published with confirms from a transactional outbox: delivery is at least once, "
                "so deduplicate on the envelope `id`. A third party reads them as a client of the registry: its own "
                "user and durable queue, bound by the suite to its event patterns, or signed webhooks "
                "(docs/integrating.md)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "production": {"host": BROKER_HOST, "pathname": f"/{VHOST}", "protocol": "amqp",
                           "protocolVersion": "0-9-1",
                           "description": f"The suite's RabbitMQ, vhost `{VHOST}` (deploy/). A registered client gets "
                                          "its own user and a queue bound to its event patterns from "
                                          "`POST /api/v1/event-consumers` (docs/integrating.md)."},
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def asyncapi_yaml() -> str:
    """The AsyncAPI document as docs/asyncapi.yaml holds it (and the gateway serves it at /api/asyncapi.yaml)."""
    text: str = yaml.safe_dump(asyncapi(), sort_keys=False, allow_unicode=True, width=120)
    return text


def render_docs(root: Path) -> dict[Path, str]:
    files = {root / "asyncapi.yaml": asyncapi_yaml()}
    for name, schema in json_schemas().items():
        files[root / "schemas" / f"{name}.json"] = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.catalogue")
    parser.add_argument("command", choices=["docs"])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--check", action="store_true", help="fail if the files differ from the models")
    args = parser.parse_args(argv)
    files = render_docs(args.out)
    if args.check:
        stale = [str(p) for p, text in files.items() if not p.exists() or p.read_text() != text]
        existing = set((args.out / "schemas").glob("*.json")) if (args.out / "schemas").exists() else set()
        stale += [str(p) for p in existing - set(files)]
        if stale:
            print("out of date (run `make docs`):\n  " + "\n  ".join(sorted(stale)), file=sys.stderr)
            return 1
        return 0
    (args.out / "schemas").mkdir(parents=True, exist_ok=True)
    for old in (args.out / "schemas").glob("*.json"):
        if old not in files:
            old.unlink()
    for path, text in files.items():
        path.write_text(text)
    print(f"wrote {len(files)} files under {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
