"""Assigning a template to many people in one call (usecases/library.assign_template), written set-wise: each
person gets exactly the goals the domain instantiates for them (goals/domain/templates.py, the reference: one goal
per item, targets overridden per person, a key result for an OKR item), coloured as the cycle's schedule says
today, red ones with their review, one template.assigned event per person naming their goals, and the read
models moved with them. On SQLite and PostgreSQL, in Q4 2026 (running now)."""
from __future__ import annotations

from decimal import Decimal

from contracts import goals as c
from goals import readmodels
from goals.domain import templates as t
from goals.usecases import library


def dec(value) -> Decimal:
    """A number as read back by plain SQL (SQLite gives floats): compared at the column's scale."""
    return Decimal(str(value)).quantize(Decimal("0.000001")).normalize()


def test_a_template_assigned_to_many_gives_each_person_their_drafts(service, open_q4):
    hr = service.actors.person("hr")
    service.run(library.install_preset, hr, c.InstallPreset(code="sales"))
    cycle = open_q4()
    mark = service.mark()
    result = service.run(library.assign_template, hr, c.AssignTemplate.model_validate({
        "template_code": "account_executive", "cycle_id": cycle.id,
        "assignees": [{"person_id": "rep"}, {"person_id": "peer", "targets": {"revenue_attainment": "123.5"}},
                      {"person_id": "mgr"}, {"person_id": "ghost"}, {"person_id": "rep"}]}))
    assert (result.created, result.failed, result.goals_created) == (3, 2, 18)
    refused = {r.person_id: r.errors[0].message for r in result.results if not r.ok}
    assert set(refused) == {"ghost", "rep"} and "directory" in refused["ghost"] and "twice" in refused["rep"]

    uow = service.uow(hr)
    with uow:
        template, catalogue = library._template_with_library(uow, "account_executive", uow.cycles.get(cycle.id))
    made = {r.person_id: r.goal_ids for r in result.results if r.ok}
    for person, targets in (("rep", {}), ("peer", {"revenue_attainment": Decimal("123.5")}), ("mgr", {})):
        drafts = t.instantiate(template, catalogue, t.Assignee(person, targets))
        rows = service.rows("select * from goals where cycle_id = :c and owner_id = :p order by indicator_code",
                            c=cycle.id, p=person)
        assert sorted(r.id for r in rows) == sorted(made[person]) and len(rows) == len(drafts) == 6
        for draft, row in zip(sorted(drafts, key=lambda d: d.indicator_code), rows, strict=True):
            kpi = draft.kind.value == "kpi"
            assert (row.title, row.kind, dec(row.weight), row.unit, row.owner_kind, row.responsible_id,
                    row.org_unit_id, row.template_code, row.schedule) == (
                draft.title, draft.kind.value, draft.weight, draft.unit, "person", person, "sales",
                "account_executive", "linear")
            assert (row.direction, None if row.target is None else dec(row.target)) == (
                (draft.direction.value, draft.target) if kpi else (None, None))
            if kpi and draft.thresholds is not None:
                assert (dec(row.green), dec(row.yellow)) == (draft.thresholds.green, draft.thresholds.yellow)
            assert bool(row.computed) == (draft.formula is not None) and bool(row.cumulative) == (
                kpi and draft.cumulative)
            krs = service.rows("select position, target, start_value, current from key_results where goal_id = :g",
                               g=row.id)
            assert [(k.position, dec(k.target), dec(k.start_value)) for k in krs] == (
                [] if kpi else [(0, draft.target, Decimal(0))])
    assert dec(service.scalar("select target from goals where owner_id = 'peer' and cycle_id = :c and "
                                  "indicator_code = 'revenue_attainment'", c=cycle.id)) == Decimal("123.5")
    # one event per person, naming the goals made for them
    assigned = service.events(since=mark, type_suffix="template.assigned.v1")
    assert {e["person_id"]: sorted(g["goal_id"] for g in e["goals"]) for _, e in assigned} == {
        p: sorted(ids) for p, ids in made.items()}
    # coloured as today's schedule says: every red goal has its review, for the person's manager
    colours = service.rows("select colour, count(*) as n from goals where cycle_id = :c group by colour", c=cycle.id)
    red = sum(r.n for r in colours if r.colour == "red")
    assert sum(r.n for r in colours) == 18
    assert red == 18  # nothing done two months into the quarter: behind schedule from the start
    reviews = service.rows("select owner_id, manager_id from reviews where cycle_id = :c and state = 'open'",
                           c=cycle.id)
    assert len(reviews) == red and {(r.owner_id, r.manager_id) for r in reviews} == {
        ("rep", "mgr"), ("peer", "mgr"), ("mgr", "boss")}
    with service.engine.begin() as connection:
        assert readmodels.check(connection) == {}
    assert service.scalar("select sum(goal_count) from rm_board_units where cycle_id = :c", c=cycle.id) == 18
