import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts import Actor, Envelope, Event
from contracts.base import validate_event_type
from contracts.catalogue import asyncapi, events, json_schemas, main
from contracts.org import PersonChanged

ROOT = Path(__file__).resolve().parents[3]


def test_envelope_round_trip_keeps_everything():
    actor = Actor(subject="p-1", roles=("hr",), org_unit="u-9")
    envelope = Envelope.wrap(PersonChanged(person_id="E001", version=3, name="王芳"), actor=actor,
                             correlation_id="c-1")
    again = Envelope.model_validate_json(envelope.model_dump_json())
    assert again == envelope
    assert again.subject == "E001"
    assert again.source == "/jixiao/compliance"
    assert again.payload() == PersonChanged(person_id="E001", version=3, name="王芳")


@pytest.mark.parametrize("bad", ["goals.created", "jixiao.goals.goal.created", "jixiao.Goals.goal.created.v1",
                                 "jixiao.goals.goal.created.1", "other.goals.goal.created.v1"])
def test_event_types_follow_the_naming_rule(bad):
    with pytest.raises(ValueError):
        validate_event_type(bad)


def test_envelope_rejects_naive_times_and_bad_sources():
    base = {"id": "1", "source": "/jixiao/goals", "type": "jixiao.goals.goal.created.v1",
            "time": datetime.now(UTC).isoformat(), "data": {}}
    Envelope.model_validate(base)
    with pytest.raises(ValidationError):
        Envelope.model_validate({**base, "time": "2026-01-01T00:00:00"})
    with pytest.raises(ValidationError):
        Envelope.model_validate({**base, "source": "goals"})


def test_every_event_is_registered_once_with_a_valid_type():
    types = [e.type for e in events()]
    assert len(types) == len(set(types))
    for event in events():
        assert issubclass(event, Event)
        validate_event_type(event.type)
        assert event.service() in {"goals", "feedback", "incentives", "compliance", "notifications", "gateway"}


def test_every_contract_has_a_json_schema():
    schemas = json_schemas()
    assert "org.PersonChanged" in schemas
    assert schemas["org.PersonChanged"]["x-event-type"] == PersonChanged.type
    assert all(s["$schema"].endswith("2020-12/schema") for s in schemas.values())


def test_generated_docs_are_up_to_date():
    assert main(["docs", "--out", str(ROOT / "docs"), "--check"]) == 0, "run `make docs`"


def test_asyncapi_document_is_valid_for_the_reference_parser(tmp_path):
    import yaml

    node = shutil.which("node")
    parser = ROOT / "tools" / "node_modules" / "@asyncapi" / "parser"
    assert node and parser.exists(), "`make deps` installs node and tools/node_modules"
    doc = tmp_path / "asyncapi.yaml"
    doc.write_text(yaml.safe_dump(asyncapi(), sort_keys=False, allow_unicode=True))
    result = subprocess.run([node, str(ROOT / "tools" / "validate-asyncapi.mjs"), str(doc)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VALID" in result.stdout
    assert len(asyncapi()["channels"]) == len(events())


def test_every_event_payload_property_is_described_once():
    """The AsyncAPI document says what each payload field means, from the same descriptions as the OpenAPI
    document: the contract's Field(description=...) or, for a shared name, the glossary's."""
    from contracts.glossary import FIELDS

    schemas = asyncapi()["components"]["schemas"]
    undescribed = [(name, prop) for name, schema in schemas.items()
                   for prop, value in schema.get("properties", {}).items() if not value.get("description")]
    assert undescribed == []
    assert schemas["GoalCreated"]["properties"]["goal_id"]["description"] == FIELDS["goal_id"]  # the glossary's
    assert "okr" in schemas["GoalCreated"]["properties"]["kind"]["description"]  # the contract's own
