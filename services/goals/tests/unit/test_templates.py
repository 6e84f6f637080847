from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from goals.domain.errors import Conflict, FormulaError, FormulaEvaluationError, InvalidInput, WeightTotalError
from goals.domain.goal import GoalKind
from goals.domain.progress import Direction, Thresholds
from goals.domain.templates import (
    Assignee,
    Indicator,
    ScoringKind,
    ScoringRule,
    Template,
    TemplateItem,
    build_library,
    instantiate,
    instantiate_all,
    score,
    score_card,
    thresholds_for,
    validate_template,
)


def kpi(code, direction=">=", target=D(100), green=D(100), yellow=D(90), **kwargs):
    return Indicator(
        code=code,
        name=code.title(),
        kind="kpi",
        direction=direction,
        unit="%",
        target=target,
        green=green,
        yellow=yellow,
        **kwargs,
    )


LIBRARY = build_library(
    [
        kpi("output", scoring=ScoringRule(kind="linear", cap=D(120))),
        kpi("quality", target=D(98), green=D(98), yellow=D(95)),
        kpi("incidents", "<=", D(0), D(0), D(1), scoring=ScoringRule(kind="banded", yellow_points=D(50))),
        kpi("accuracy", "=", D(100), D(0), D(1), scoring=ScoringRule(kind="binary")),
        kpi("base_score", target=None),
        kpi("shift_score", target=D(100), formula="base_score * night_shift_coefficient + min(patent_count * 2, 10)"),
        Indicator(
            code="improvement", name="Improvement objective", kind="okr", direction=">=", unit="%", target=D(100)
        ),
    ]
)

TEMPLATE = Template(
    code="operator",
    name="Operator",
    job_family="production",
    custom_fields=("night_shift_coefficient", "patent_count"),
    items=(
        TemplateItem(indicator="output", weight=D(30)),
        TemplateItem(indicator="quality", weight=D(20)),
        TemplateItem(indicator="incidents", weight=D(10)),
        TemplateItem(indicator="base_score", weight=D(10), target=D(80)),
        TemplateItem(indicator="shift_score", weight=D(20)),
        TemplateItem(indicator="improvement", weight=D(10)),
    ),
)


def test_valid_template():
    validate_template(TEMPLATE, LIBRARY)


def test_instantiate_produces_one_draft_per_item():
    drafts = instantiate(TEMPLATE, LIBRARY, Assignee("alice", targets={"output": D(110)}))
    assert [d.indicator_code for d in drafts] == [
        "output",
        "quality",
        "incidents",
        "base_score",
        "shift_score",
        "improvement",
    ]
    assert sum(d.weight for d in drafts) == 100
    by_code = {d.indicator_code: d for d in drafts}
    assert by_code["output"].target == 110  # person override
    assert by_code["base_score"].target == 80  # template target
    assert by_code["quality"].target == 98  # indicator default
    assert by_code["incidents"].thresholds == Thresholds(D(0), D(1))
    assert by_code["incidents"].direction is Direction.AT_MOST
    assert by_code["improvement"].kind is GoalKind.OKR and by_code["improvement"].thresholds is None
    assert by_code["shift_score"].formula.startswith("base_score")
    assert all(d.owner_id == "alice" for d in drafts)


def test_thresholds_follow_a_personal_target():
    new_customers = kpi("new_customers", target=D(12), green=D(12), yellow=D(9))
    assert thresholds_for(new_customers, D(20)) == Thresholds(D(20), D(15))
    assert thresholds_for(new_customers, D(12)) == Thresholds(D(12), D(9))
    assert thresholds_for(new_customers, D(0)) == Thresholds(D(12), D(9))
    response = kpi("response", "<=", D(2), D(2), D(4))
    assert thresholds_for(response, D(1)) == Thresholds(D(1), D(2))
    accuracy = LIBRARY["accuracy"]
    assert thresholds_for(accuracy, D(99)) == accuracy.thresholds  # tolerances do not scale
    assert thresholds_for(LIBRARY["base_score"], D(50)) == LIBRARY["base_score"].thresholds  # no default target
    drafts = instantiate(TEMPLATE, LIBRARY, Assignee("alice", targets={"output": D(110)}))
    assert drafts[0].thresholds == Thresholds(D(110), D(99))


def test_banded_scoring_uses_the_personal_thresholds():
    banded = kpi("tickets", target=D(100), green=D(100), yellow=D(80), scoring=ScoringRule(kind="banded"))
    assert score(banded.scoring, banded, D(100), D(85)) == D(60)
    assert score(banded.scoring, banded, D(50), D(45)) == D(60)  # yellow from 40 for a target of 50
    assert score(banded.scoring, banded, D(50), D(50)) == D(100)


def test_instantiate_all_reports_errors_per_person():
    no_default = Template(
        code="t",
        name="T",
        job_family="f",
        items=(TemplateItem(indicator="base_score", weight=D(60)), TemplateItem(indicator="output", weight=D(40))),
    )
    results = instantiate_all(
        no_default,
        LIBRARY,
        [
            Assignee("alice", targets={"base_score": D(70)}),
            Assignee("bob"),
            Assignee("carol", targets={"base_score": D(70), "typo": D(1)}),
            Assignee("alice", targets={"base_score": D(70)}),
        ],
    )
    assert [r.person_id for r in results] == ["alice", "bob", "carol", "alice"]
    assert results[0].ok and len(results[0].drafts) == 2
    assert not results[1].ok and results[1].error.field == "targets.base_score" and results[1].error.ids == ("bob",)
    assert results[2].error.field == "targets.typo"
    assert isinstance(results[3].error, Conflict)


def test_instantiate_all_gives_each_person_the_drafts_made_for_them_alone():
    # the drafts are made once per distinct overrides and handed out: each person's are theirs, as if made alone
    people = [Assignee("alice"), Assignee("bob", targets={"output": D(110)}), Assignee("carol"),
              Assignee("dave", targets={"output": D(110)}), Assignee("erin", targets={"output": D(90)})]
    results = instantiate_all(TEMPLATE, LIBRARY, people)
    for assignee, result in zip(people, results, strict=True):
        assert result.ok and result.drafts == instantiate(TEMPLATE, LIBRARY, assignee)
        assert {d.owner_id for d in result.drafts} == {assignee.person_id}
    assert results[1].drafts[0].thresholds == Thresholds(D(110), D(99)) != results[4].drafts[0].thresholds


def test_instantiate_all_raises_for_a_broken_template():
    broken = TEMPLATE.model_copy(update={"items": TEMPLATE.items[:-1]})
    with pytest.raises(WeightTotalError) as error:
        instantiate_all(broken, LIBRARY, [Assignee("alice")])
    assert error.value.total == 90 and error.value.field == "items.weight"


@pytest.mark.parametrize(
    "items,custom_fields,error,field",
    [
        ((TemplateItem(indicator="nope", weight=D(100)),), (), InvalidInput, "items[0].indicator"),
        (
            (TemplateItem(indicator="output", weight=D(50)), TemplateItem(indicator="output", weight=D(50))),
            (),
            InvalidInput,
            "items[1].indicator",
        ),
        ((TemplateItem(indicator="output", weight=D(100)),), ("output",), InvalidInput, "custom_fields"),
        ((TemplateItem(indicator="output", weight=D(100)),), ("a", "a"), InvalidInput, "custom_fields"),
        # the formula needs base_score, which this template lacks
        (
            (TemplateItem(indicator="shift_score", weight=D(100)),),
            ("night_shift_coefficient", "patent_count"),
            FormulaError,
            "items[0].formula",
        ),
    ],
)
def test_invalid_templates(items, custom_fields, error, field):
    template = Template(code="t", name="T", job_family="f", custom_fields=custom_fields, items=items)
    with pytest.raises(error) as raised:
        validate_template(template, LIBRARY)
    assert raised.value.field == field


def test_formula_loops_are_rejected():
    library = build_library([kpi("a", formula="b + 1"), kpi("b", formula="a + 1"), kpi("c", formula="c2"), kpi("c2")])
    template = Template(
        code="t",
        name="T",
        job_family="f",
        items=tuple(TemplateItem(indicator=c, weight=D(25)) for c in ("a", "b", "c", "c2")),
    )
    with pytest.raises(InvalidInput, match="loop") as error:
        validate_template(template, library)
    assert error.value.ids == ("a", "b")


def test_duplicate_library_codes():
    with pytest.raises(InvalidInput) as error:
        build_library([kpi("a"), kpi("a")])
    assert error.value.field == "indicators[1].code"


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"green": None}, "give both"),
        ({"green": None, "yellow": None}, "a KPI needs"),
        ({"yellow": D(101)}, "yellow threshold must not exceed green"),
        ({"formula": "1 +"}, "expected a number"),
        ({"code": "Bad-Code"}, "pattern"),
        ({"extra": 1}, "Extra inputs"),
    ],
)
def test_indicator_validation(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        kpi("x", **kwargs) if "code" not in kwargs else Indicator(
            name="x", kind="kpi", direction=">=", unit="%", green=D(1), yellow=D(0), **kwargs
        )


def test_okr_indicator_rules():
    with pytest.raises(ValidationError, match="banded scoring needs thresholds"):
        Indicator(code="o", name="O", kind="okr", direction=">=", unit="%", scoring=ScoringRule(kind="banded"))
    with pytest.raises(ValidationError, match="only KPI"):
        Indicator(code="o", name="O", kind="okr", direction=">=", unit="%", formula="1")


@pytest.mark.parametrize(
    "code,target,actual,points",
    [
        ("output", D(100), D(110), D(110)),
        ("output", D(100), D(150), D(120)),  # capped
        ("output", D(100), D(45), D(45)),
        ("quality", D(98), D(49), D(50)),
        ("incidents", D(0), D(0), D(100)),
        ("incidents", D(0), D(1), D(50)),
        ("incidents", D(0), D(2), D(0)),
        ("accuracy", D(100), D(100), D(100)),
        ("accuracy", D(100), D("99.9"), D(0)),
    ],
)
def test_scoring_rules(code, target, actual, points):
    indicator = LIBRARY[code]
    assert score(indicator.scoring, indicator, target, actual) == points


def test_score_card_computes_formulas_and_the_weighted_total():
    values = {"output": D(110), "quality": D(98), "incidents": D(1), "base_score": D(80), "improvement": D(50)}
    card = score_card(TEMPLATE, LIBRARY, values, fields={"night_shift_coefficient": D("1.2"), "patent_count": D(3)})
    by_code = {i.indicator_code: i for i in card.items}
    assert by_code["shift_score"].value == D("102.0")  # 80 * 1.2 + min(6, 10)
    assert by_code["shift_score"].points == D(100)
    assert by_code["base_score"].points == D(100)
    assert by_code["improvement"].points == D(50)
    # 110*0.3 + 100*0.2 + 50*0.1 + 100*0.1 + 100*0.2 + 50*0.1
    assert card.total == D("93.00")


def test_score_card_needs_values_fields_and_targets():
    values = {"output": D(1), "quality": D(1), "incidents": D(1), "base_score": D(1), "improvement": D(1)}
    fields = {"night_shift_coefficient": D(1), "patent_count": D(0)}
    with pytest.raises(InvalidInput) as error:
        score_card(TEMPLATE, LIBRARY, {k: v for k, v in values.items() if k != "quality"}, fields)
    assert error.value.field == "values.quality"
    with pytest.raises(InvalidInput) as error:
        score_card(TEMPLATE, LIBRARY, values, {"night_shift_coefficient": D(1)})
    assert error.value.field == "fields.patent_count"
    no_target = Template(
        code="t", name="T", job_family="f", items=(TemplateItem(indicator="base_score", weight=D(100)),)
    )
    with pytest.raises(InvalidInput) as error:
        score_card(no_target, LIBRARY, {"base_score": D(1)})
    assert error.value.field == "targets.base_score"
    card = score_card(no_target, LIBRARY, {"base_score": D(45)}, targets={"base_score": D(90)})
    assert card.total == D("50.00")


def test_formula_evaluation_errors_name_the_indicator():
    library = build_library([kpi("ratio", formula="done / planned")])
    template = Template(
        code="t",
        name="T",
        job_family="f",
        custom_fields=("done", "planned"),
        items=(TemplateItem(indicator="ratio", weight=D(100)),),
    )
    with pytest.raises(FormulaEvaluationError) as error:
        score_card(template, library, {}, fields={"done": D(1), "planned": D(0)})
    assert error.value.field == "values.ratio" and error.value.position == 5


def test_scoring_kinds_are_named():
    assert {k.value for k in ScoringKind} == {"linear", "banded", "binary"}
