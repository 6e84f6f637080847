"""Rating analytics for HR: the distribution per unit or manager against the target with leniency/severity, and
rotation detection (the statistic is in domain/analytics.py)."""
from __future__ import annotations

import functools
from collections import defaultdict
from decimal import Decimal
from typing import Any

from contracts import incentives as c
from contracts.actor import Actor
from incentives import access
from incentives.domain import analytics
from incentives.repositories import RatingRow
from incentives.settings import IncentivesSettings
from incentives.usecases.common import Uow, bulk_objects, members_of, units_of

FOUR = Decimal("0.0001")


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(FOUR)


def distribution(uow: Uow, actor: Actor | None, command: c.DistributionQuery,
                 settings: IncentivesSettings) -> c.DistributionView:
    with uow:
        uow.access.require(actor, "incentives.unit.read", access.unit(command.org_unit_id))
        members = members_of(uow, command.org_unit_id)
        ratings = [r for r in uow.inputs.rating_rows([command.review_cycle_id]) if r.person_id in members]
        index = uow.access.index
        groups: dict[str, list[RatingRow]] = {}
        for r in ratings:
            person = index.person(r.person_id)
            key = (r.manager_id or "(none)") if command.by == "manager" else (
                person.org_unit_id if person is not None and person.org_unit_id else "(none)")
            groups.setdefault(key, []).append(r)
        lenient = {x.manager: x for x in analytics.leniency(
            (r.manager_id or "(none)", _float(r.manager_score), float(r.score), _float(r.attainment))
            for r in ratings)}
        out = []
        for key, rated in sorted(groups.items()):
            stats = lenient.get(key) if command.by == "manager" else None
            out.append(c.DistributionGroup(
                group=key, people=len(rated),
                rows=[c.DistributionRow(**row) for row in analytics.distribution(
                    (r.label for r in rated), settings.target_distribution)],
                mean_score=(sum((r.score for r in rated), Decimal(0)) / len(rated)).quantize(FOUR),
                manager_score=None if stats is None else _dec(stats.given),
                attainment=None if stats is None else _dec(stats.attainment),
                bias=None if stats is None else _dec(stats.bias)))
        return c.DistributionView(review_cycle_id=command.review_cycle_id, org_unit_id=command.org_unit_id,
                                  overall=[c.DistributionRow(**row) for row in analytics.distribution(
                                      (r.label for r in ratings), settings.target_distribution)],
                                  groups=out)


STATISTIC = ("score = shortfall x turn_rate per manager over the cycles; shortfall = mean over top ratings of "
             "(1 - the person's goal-attainment percentile in the team that cycle); turn_rate = share of consecutive "
             "cycles whose top-rated people are disjoint; flagged at score >= threshold with >= 3 top ratings over "
             ">= 3 cycles")


def _scores(rows: list[Any], order: dict[str, str], threshold: float) -> list[analytics.GroupScore]:
    """Every group's score (highest first) from the database's award rows and group-cycle markers."""
    cycles: dict[str, set[str]] = defaultdict(set)
    awards: dict[str, list[analytics.Award]] = defaultdict(list)
    for group, cycle, person, label, attainment, at_or_below, known, top in rows:
        key = order[cycle]
        cycles[group].add(key)
        if top:
            awards[group].append(analytics.award(
                key, person, label, attainment,
                None if at_or_below is None else analytics.percentile(at_or_below, known)))
    scored = [analytics.score_awards(group, sorted(keys), sorted(awards[group], key=lambda a: (a.cycle, a.person)),
                                     threshold=threshold) for group, keys in cycles.items()]
    return sorted(scored, key=lambda s: (-s.score, s.group))


def detect_rotation(uow: Uow, actor: Actor | None, command: c.RotationQuery,
                    settings: IncentivesSettings) -> c.RotationReport:
    """Scores every manager's team over the cycles; a flagged team is published once (RotationSuspected) for HR."""
    threshold = float(command.threshold if command.threshold is not None else settings.rotation_threshold)
    order = {cycle: f"{i:03d}" for i, cycle in enumerate(command.review_cycle_ids)}
    with uow, bulk_objects():
        uow.access.require(actor, "incentives.unit.read", access.unit(command.org_unit_id))
        units = units_of(uow, command.org_unit_id)
        scored = _scores(uow.inputs.rotation_awards(command.review_cycle_ids, units, settings.rotation_top_labels),
                         order, threshold)
        cycles_of = {v: k for k, v in order.items()}
        key = ",".join(command.review_cycle_ids)[:600]
        flagged = [g for g in scored if g.flagged]
        new = uow.talent.flag_rotations([(g.group, Decimal(str(g.score))) for g in flagged], key, uow.now())
        uow.publish(*(c.RotationSuspected(
            manager_id=g.group, org_unit_id=command.org_unit_id, review_cycle_ids=list(command.review_cycle_ids),
            score=Decimal(str(g.score)), threshold=Decimal(str(threshold)),
            people=sorted({a.person for a in g.awards})) for g in flagged if g.group in new))
        # validated once from plain data: pydantic's core is far faster than a model object built per award;
        # the shares and percentiles repeat a lot, so each distinct value is made a Decimal once
        dec = functools.cache(_dec)
        return c.RotationReport.model_validate({
            "statistic": STATISTIC, "threshold": Decimal(str(threshold)), "groups": [
            {"manager_id": g.group, "score": dec(g.score), "shortfall": dec(g.shortfall),
             "unexplained_share": dec(g.unexplained_share), "turn_rate": dec(g.turn_rate), "flagged": g.flagged,
             "awards": [{"cycle": cycles_of[a.cycle], "person_id": a.person, "label": a.label,
                         "attainment": dec(a.attainment), "percentile": dec(a.percentile),
                         "explained": a.explained} for a in g.awards]}
            for g in scored]})
