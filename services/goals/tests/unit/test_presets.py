import copy

import pytest
import yaml

from goals.domain.errors import InvalidInput, NotFound
from goals.domain.presets import load_preset, parse_preset, preset_codes
from goals.domain.templates import Assignee, instantiate_all
from goals.domain.weights import check_weights

EXPECTED = {"customer_service", "functional", "manufacturing", "rnd", "sales"}


def test_the_industry_presets_are_shipped():
    assert EXPECTED <= set(preset_codes())


@pytest.mark.parametrize("code", preset_codes())
def test_every_preset_loads_and_every_template_instantiates(code):
    preset = load_preset(code)
    assert preset.code == code
    for template in preset.templates:
        check_weights({item.indicator: item.weight for item in template.items})
        [result] = instantiate_all(template, preset.library, [Assignee("someone")])
        assert result.ok, result.error
        assert sum(d.weight for d in result.drafts) == 100


def test_manufacturing_has_the_shop_floor_basics():
    library = load_preset("manufacturing").library
    assert {"attendance_rate", "yield_rate", "maintenance_completion"} <= set(library)
    assert library["attendance_rate"].target == 98


def test_unknown_preset():
    with pytest.raises(NotFound):
        load_preset("astrology")


def raw(code):
    from importlib import resources

    return yaml.safe_load(resources.files("goals").joinpath("presets", f"{code}.yaml").read_text(encoding="utf-8"))


def test_schema_errors_carry_the_path_of_every_problem():
    data = raw("sales")
    data["indicators"][1]["direction"] = ">>"
    data["templates"][0]["items"][2]["weight"] = -5
    with pytest.raises(InvalidInput) as error:
        parse_preset(data)
    assert error.value.field == "indicators[1].direction"
    assert [field for field, _ in error.value.details] == ["indicators[1].direction", "templates[0].items[2].weight"]


def test_template_rules_are_checked_with_the_template_path():
    data = raw("sales")
    data["templates"][1]["items"][0]["weight"] = 30
    with pytest.raises(InvalidInput) as error:
        parse_preset(data)
    assert error.value.field == "templates[1].items.weight"
    assert "95.00" in error.value.message


def test_duplicate_indicator_codes_are_rejected():
    data = raw("rnd")
    data["indicators"].append(copy.deepcopy(data["indicators"][0]))
    with pytest.raises(InvalidInput) as error:
        parse_preset(data)
    assert error.value.field == f"indicators[{len(data['indicators']) - 1}].code"


def test_formula_errors_point_into_the_template():
    data = raw("manufacturing")
    shift = next(i for i in data["indicators"] if i["code"] == "shift_performance")
    shift["formula"] = "output_attainment * night_coefficient"
    with pytest.raises(InvalidInput) as error:
        parse_preset(data)
    assert error.value.field == "templates[0].items[4].formula"
    assert "unknown variable 'night_coefficient'" in error.value.message


def test_top_level_must_be_a_mapping():
    with pytest.raises(InvalidInput) as error:
        parse_preset(["not", "a", "preset"])
    assert error.value.field == "preset"
