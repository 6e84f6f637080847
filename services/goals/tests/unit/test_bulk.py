"""The goal file's rules (goals.domain.bulk.plan_goals, plan_templates): header aliases, per-row checks located
by row and column as written, parents before children, weights per owner, key-result rows."""
from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from goals.domain import bulk

HEADER = ["ref", "parent", "title", "kind", "owner", "weight", "key result", "target", "direction", "green", "yellow"]
PEOPLE = {"rep": "sales", "peer": "sales"}


def rows(*data: list[object], header: list[object] = HEADER) -> list[tuple[int, list[object]]]:
    return list(enumerate([header, *data], start=1))


def plan(*data: list[object], weights: dict[str, D] | None = None, goals: tuple[str, ...] = ()) -> bulk.Plan:
    return bulk.plan_goals(rows(*data), people=PEOPLE, units={"sales"}, existing_goals=goals,
                           weights_so_far=weights or {})


def kpi(ref: str, weight: object, parent: str = "", owner: str = "rep") -> list[object]:
    return [ref, parent, f"goal {ref}", "KPI", owner, weight, "", "100", ">=", "100", "90"]


def test_an_okr_with_continuation_key_results_and_a_kpi_child():
    found = plan(["o", "", "Grow", "okr", "rep", "60", "New customers", "40", "", "", ""],
                 ["o", "", "", "", "", "", "Churn down", "5", "", "", ""], kpi("k", "40", parent="o"))
    assert found.ok and found.rows == 3
    okr, child = found.items
    assert [kr.title for kr in okr.key_results] == ["New customers", "Churn down"]
    assert (child.parent_ref, child.kpi["direction"], child.kpi["target"]) == ("o", ">=", D(100))


def test_a_parent_after_its_child_names_the_later_row_and_an_existing_goal_is_a_parent():
    found = plan(kpi("child", "50", parent="later"), kpi("later", "50"))
    assert [(i.row, i.column, i.code) for i in found.errors] == [(2, "parent", "parent_after_child")]
    assert "row 3" in found.errors[0].message
    assert plan(kpi("a", "100", parent="goal-in-cycle"), goals=("goal-in-cycle",)).items[0].parent_id == \
        "goal-in-cycle"


def test_unknown_owner_duplicate_ref_and_bad_numbers_are_located():
    found = plan(kpi("a", "100"), kpi("a", "10"), kpi("b", "x", owner="nobody"), kpi("c", "101", owner="peer"))
    assert [(i.row, i.column, i.code) for i in found.errors] == [
        (3, "ref", "duplicate_row"), (4, "owner", "unknown_owner"), (4, "weight", "invalid"), (5, "weight", "invalid")]


def test_chinese_headers_and_direction_words():
    header = ["编号", "上级目标", "目标名称", "类型", "负责人", "权重", "关键结果", "目标值", "方向", "绿灯阈值",
              "黄灯阈值"]
    found = bulk.plan_goals(rows(["甲", "", "销售额", "KPI", "rep", "100", "", "100", "越低越好", "100", "110"],
                                 header=header),
                            people=PEOPLE, units=(), existing_goals=(), weights_so_far={})
    assert found.ok and found.items[0].kpi["direction"] == "<="
    missing = bulk.plan_goals(rows(["甲"], header=["编号", "目标名称"]), people=PEOPLE, units=(), existing_goals=(),
                              weights_so_far={})
    assert {i.column for i in missing.errors} == {"kind", "owner", "weight"}
    assert "类型" in next(i.message for i in missing.errors if i.column == "kind")


@given(st.lists(st.integers(min_value=1, max_value=9999), min_size=1, max_size=8), st.integers(0, 5000))
def test_an_owners_weights_pass_exactly_when_they_total_one_hundred(cents, before_cents):
    weights = [D(c) / 100 for c in cents]
    found = plan(*[kpi(f"g{n}", w) for n, w in enumerate(weights)], weights={"rep": D(before_cents) / 100})
    total = sum(weights, D(0)) + D(before_cents) / 100
    assert found.ok == (total == 100)
    if not found.ok:
        assert {i.code for i in found.errors} == {"weights_total"} and len(found.errors) == len(weights)


def test_a_kpi_row_cannot_carry_key_results_and_an_okr_needs_one():
    found = plan(["k", "", "K", "kpi", "rep", "50", "a kr", "1", ">=", "1", "1"],
                 ["o", "", "O", "okr", "rep", "50", "", "", "", "", ""])
    assert {(i.row, i.column, i.code) for i in found.errors} == {(2, "key result", "invalid"),
                                                                 (3, "key result", "required"),
                                                                 (3, "weight", "weights_total")}


def test_template_rows_group_by_code_and_weights_total_per_template():
    header = ["template code", "template name", "job family", "indicator", "weight"]
    found = bulk.plan_templates(rows(["store_mgr", "Store", "Retail", "sales", "70"],
                                     ["store_mgr", "Store", "Retail", "nps", "30"],
                                     ["cashier", "Cashier", "Retail", "sales", "90"], header=header),
                                known_indicators={"sales", "nps"})
    assert [t.payload["code"] for t in found.items] == ["store_mgr"]
    assert [(i.row, i.code) for i in found.errors] == [(4, "weights_total")]
