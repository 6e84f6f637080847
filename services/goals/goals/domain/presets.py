"""Industry presets: ready-made indicator libraries and job-family templates, shipped as YAML in
``goals/presets/<code>.yaml`` and validated on load (schema, thresholds, formulas, weights).

A preset file has ``code``, ``name``, ``description``, ``indicators`` (see templates.Indicator) and
``templates`` (see templates.Template) that may only use the preset's own indicators.
"""

from __future__ import annotations

from functools import cached_property
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from goals.domain.errors import DomainError, InvalidInput, NotFound
from goals.domain.templates import Code, Indicator, Template, Text, build_library, validate_template


class Preset(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Code
    name: Text
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    indicators: tuple[Indicator, ...] = Field(min_length=1)
    templates: tuple[Template, ...] = Field(min_length=1)

    @cached_property
    def library(self) -> dict[str, Indicator]:
        return build_library(self.indicators)


def _path(loc: tuple[int | str, ...]) -> str:
    """('templates', 0, 'items', 2, 'weight') -> 'templates[0].items[2].weight'."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def parse_preset(data: object) -> Preset:
    """Validate preset data (as read from YAML); raises InvalidInput with the failing field path
    (and every problem in ``details`` when the schema check finds several)."""
    try:
        preset = Preset.model_validate(data)
    except ValidationError as error:
        problems = [(_path(e["loc"]) or "preset", e["msg"]) for e in error.errors()]
        raise InvalidInput(problems[0][0], problems[0][1], details=problems) from error
    try:
        library = preset.library
    except DomainError as error:
        raise InvalidInput(error.field or "indicators", error.message, ids=error.ids) from error
    for i, template in enumerate(preset.templates):
        try:
            validate_template(template, library)
        except DomainError as error:
            raise InvalidInput(f"templates[{i}].{error.field}", error.message, ids=error.ids) from error
    return preset


def _directory() -> Traversable:
    return resources.files("goals").joinpath("presets")


def preset_codes() -> list[str]:
    """Codes of the shipped presets (file names without .yaml), sorted."""
    return sorted(entry.name.removesuffix(".yaml") for entry in _directory().iterdir() if entry.name.endswith(".yaml"))


def load_preset(code: str) -> Preset:
    if code not in preset_codes():
        raise NotFound(f"no preset {code!r}", field="preset", ids=[code])
    text = _directory().joinpath(f"{code}.yaml").read_text(encoding="utf-8")
    try:
        preset = parse_preset(yaml.safe_load(text))
    except InvalidInput as error:
        raise InvalidInput(f"{code}.{error.field}", error.message, ids=error.ids, details=error.details) from error
    if preset.code != code:
        raise InvalidInput(f"{code}.code", f"the file {code}.yaml declares code {preset.code!r}")
    return preset
