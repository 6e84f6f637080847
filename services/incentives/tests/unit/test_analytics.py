"""Rotation detection on generated data (honest teams, consistent stars, rotating teams), with precision and
recall reported; distribution and leniency."""
import random
from decimal import Decimal as D

from incentives.domain.analytics import Rated, detect_rotation, distribution, leniency, precision_recall, score_group

CYCLES = ["2022", "2023", "2024", "2025", "2026"]


def honest_team(rng, group, size=8, star=False):
    talent = {f"{group}-p{i}": rng.random() for i in range(size)}
    if star:
        talent[f"{group}-p0"] = 2.0  # far ahead every year
    rows = []
    for cycle in CYCLES:
        attainment = {p: t + rng.gauss(0, 0.25) for p, t in talent.items()}
        ranked = sorted(attainment, key=attainment.get, reverse=True)
        top = {ranked[0]} if rng.random() < 0.9 else {rng.choice(ranked)}  # a manager errs now and then
        rows += [Rated(group, cycle, p, "S" if p in top else "B", attainment[p]) for p in talent]
    return rows


def rotating_team(rng, group, size=8):
    people = [f"{group}-p{i}" for i in range(size)]
    talent = {p: rng.random() for p in people}
    turn = rng.sample(people, rng.choice([3, 4, 5]))  # the few who take turns
    rows = []
    for k, cycle in enumerate(CYCLES):
        attainment = {p: t + rng.gauss(0, 0.25) for p, t in talent.items()}
        top = turn[k % len(turn)]
        rows += [Rated(group, cycle, p, "S" if p == top else "B", attainment[p]) for p in people]
    return rows


def test_rotation_is_flagged_and_honest_teams_are_not():
    rng = random.Random(13)
    rows, truth = [], set()
    for g in range(300):
        kind = g % 3
        group = f"g{g}"
        if kind == 0:
            rows += rotating_team(rng, group)
            truth.add(group)
        else:
            rows += honest_team(rng, group, star=kind == 2)
    scores = detect_rotation(rows)
    flagged = {s.group for s in scores if s.flagged}
    precision, recall = precision_recall(flagged, truth)
    print(f"\nrotation detector on 300 generated teams x 5 cycles: precision {precision:.2f}, recall {recall:.2f}")
    assert precision >= 0.9 and recall >= 0.8
    # consistent stars are never flagged
    assert not any(s.flagged for s in scores if int(s.group[1:]) % 3 == 2)


def test_the_evidence_names_who_which_cycles_and_attainment():
    rows = []
    for k, cycle in enumerate(CYCLES):
        for i in range(5):
            attainment = 1.0 - i * 0.2  # p0 always best
            rows.append(Rated("m", cycle, f"p{i}", "S" if i == (k % 4) + 1 else "B", attainment))
    score = score_group("m", rows)
    # p1 is second best (percentile 0.75), p2..p4 below: shortfall = (0.25 + 0.5 + 0.75 + 1 + 0.25) / 5
    assert score.flagged and score.shortfall == 0.55 and score.turn_rate == 1.0 and score.score == 0.55
    assert [(a.cycle, a.person) for a in score.awards] == [("2022", "p1"), ("2023", "p2"), ("2024", "p3"),
                                                          ("2025", "p4"), ("2026", "p1")]
    assert [a.explained for a in score.awards] == [True, False, False, False, True]
    # the same data rated on results: nothing to flag
    honest = [Rated("m", r.cycle, r.person, "S" if r.person == "p0" else "B", r.attainment) for r in rows]
    assert not score_group("m", honest).flagged and score_group("m", honest).score == 0


def test_distribution_and_leniency():
    rows = distribution(["A", "B", "B", "C"], {"A": D("0.2"), "B": D("0.7"), "C": D("0.1")})
    assert [(r["label"], r["count"], r["share"]) for r in rows] == [("A", 1, D("0.25")), ("B", 2, D("0.5")),
                                                                   ("C", 1, D("0.25"))]
    found = leniency([("soft", 95, 80, 0.6), ("soft", 90, 80, 0.5), ("hard", 60, 75, 0.9)])
    assert [x.manager for x in found] == ["soft", "hard"] and found[0].bias == 12.5 and found[1].bias == -15
