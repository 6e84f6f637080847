"""Issue 8, goal 5: a score card with a value not measured yet shows every other item (the missing one, and any
formula reading it, marked missing with 0 points); weighted points are rounded half-up to 2 decimals."""
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from goals.domain.templates import Indicator, ScoringRule, Template, TemplateItem, build_library, score_card


# the production operator of test_templates.py
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


FIELDS = {"night_shift_coefficient": D("1.2"), "patent_count": D(3)}
VALUES = {"output": D(110), "quality": D(98), "incidents": D(1), "base_score": D(80), "improvement": D(50)}


def test_a_missing_value_is_marked_and_scores_zero_while_the_rest_is_shown():
    values = {k: v for k, v in VALUES.items() if k != "base_score"}
    card = score_card(TEMPLATE, LIBRARY, values, FIELDS, partial=True)
    by_code = {i.indicator_code: i for i in card.items}
    assert by_code["base_score"].missing and by_code["base_score"].value is None
    assert by_code["base_score"].points == by_code["base_score"].weighted_points == D("0.00")
    assert by_code["shift_score"].missing  # its formula reads base_score
    assert not by_code["output"].missing and by_code["output"].points == D(110)
    # 110*0.3 + 100*0.2 + 50*0.1 + 0 + 0 + 50*0.1
    assert card.total == D("63.00")


def test_weighted_points_are_rounded_half_up_to_cents():
    linear = ScoringRule(kind="linear", cap=D(120))
    library = build_library([kpi("a", scoring=linear), kpi("b", scoring=linear)])
    template = Template(code="t", name="T", job_family="f",
                        items=(TemplateItem(indicator="a", weight=D("33.33")),
                               TemplateItem(indicator="b", weight=D("66.67"))))
    card = score_card(template, library, {"a": D("100.5"), "b": D("95.5")})
    a, b = card.items
    assert a.points * a.weight / 100 != a.weighted_points  # 100.5 x 33.33 / 100 = 33.49665
    assert (a.weighted_points, b.weighted_points) == (D("33.50"), D("63.67"))  # 63.66985 -> 63.67
    assert card.total == D("97.17")  # from the exact sum 97.1665


@given(st.decimals(min_value=0, max_value=300, places=2), st.decimals(min_value=0, max_value=300, places=2))
def test_each_weighted_points_has_two_decimals_and_the_total_is_within_a_cent_per_item(x, y):
    library = build_library([kpi("a"), kpi("b")])
    template = Template(code="t", name="T", job_family="f",
                        items=(TemplateItem(indicator="a", weight=D("33.33")),
                               TemplateItem(indicator="b", weight=D("66.67"))))
    card = score_card(template, library, {"a": x, "b": y})
    assert all(i.weighted_points == i.weighted_points.quantize(D("0.01")) for i in card.items)
    assert abs(card.total - sum(i.weighted_points for i in card.items)) <= D("0.01")
