"""Promotion tracks (separate panels per sequence, the evidence pack, decisions with reasons) and performance stars
(consent before publication, points once) — use cases on SQLite."""

from contracts import incentives as c
from incentives.settings import IncentivesSettings
from incentives.usecases import careers, inputs, points

PANELS = IncentivesSettings(promotion_panels={"technical": ["arch"], "management": ["vp"]})



def org(world):
    world.org(units=[("co", None), ("rd", "co")],
              people=[("vp", "co", None), ("arch", "co", "vp"), ("m", "rd", "vp"), ("dev", "rd", "m"),
                      ("peer", "rd", "m"), ("hr", "co", "vp")], grants={"hr": [("hr", "co")]})


def test_a_nomination_carries_its_evidence_and_only_its_panel_decides(world):
    org(world)
    for cycle, label, goals in (("rc-2025", "A", "86"), ("rc-2026", "S", "93")):
        inputs.on_rating(world.uow(), world.rating("dev", label, cycle=cycle, manager="m", goals=goals),
                         world.settings)
    assert world.failure(careers.nominate, world.uow(), world.actor("peer"), c.Nominate(
        person_id="dev", sequence="technical", target_level="T4", reason="x")).status == 403
    assert world.failure(careers.nominate, world.uow(), world.actor("m"), c.Nominate(
        person_id="dev", sequence="technical", target_level="M4", reason="x")).errors[0]["field"] == "target_level"
    nomination = careers.nominate(world.uow(), world.actor("m"), c.Nominate(
        person_id="dev", sequence="technical", target_level="T4", reason="led the storage rewrite"))
    assert [r["label"] for r in nomination.evidence["ratings"]] == ["A", "S"]
    assert nomination.evidence["development_plan"]["track"] == "growth"
    assert all(criterion.met for criterion in nomination.criteria)
    decide = c.DecideNomination(nomination_id=nomination.id, outcome="promoted", reason="criteria met, panel agreed")
    for wrong in ("vp", "m", "dev"):  # the management panel, the nominator, the nominee
        assert world.failure(careers.decide_nomination, world.uow(), world.actor(wrong), decide, PANELS).status == 403
    queue = careers.list_nominations(world.uow(), world.actor("arch"), c.ListNominations(), PANELS).items
    assert [n.id for n in queue] == [nomination.id]
    done = careers.decide_nomination(world.uow(), world.actor("arch"), decide, PANELS)
    assert done.status == "promoted" and done.decided_by == "arch"
    assert world.failure(careers.decide_nomination, world.uow(), world.actor("arch"), decide, PANELS).status == 422
    [(_, event)] = world.outbox("nomination.decided.v1")
    assert event["outcome"] == "promoted" and event["reason"] == "criteria met, panel agreed"
    assert done.criteria_overridden == [] and event["criteria_overridden"] == []
    # self-nomination is allowed; the evidence shows what is missing
    own = careers.nominate(world.uow(), world.actor("peer"), c.Nominate(
        person_id="peer", sequence="management", target_level="M1", reason="I lead the guild"))
    assert not any(criterion.met for criterion in own.criteria)


def test_promoting_past_unmet_criteria_is_an_exception_the_panel_states(world):
    org(world)
    inputs.on_rating(world.uow(), world.rating("dev", "A", cycle="rc-2026", manager="m", goals="70"), world.settings)
    nomination = careers.nominate(world.uow(), world.actor("m"), c.Nominate(
        person_id="dev", sequence="technical", target_level="T4", reason="carried the migration alone"))
    unmet = [criterion.criterion for criterion in nomination.criteria if not criterion.met]
    assert unmet == ["2 finalized ratings", "ratings among S/A", "mean goal attainment >= 80"]
    promote = c.DecideNomination(nomination_id=nomination.id, outcome="promoted", reason="exceptional year")
    refused = world.failure(careers.decide_nomination, world.uow(), world.actor("arch"), promote, PANELS)
    assert refused.status == 422 and refused.errors[0]["field"] == "override_criteria"
    assert "2 finalized ratings" in refused.detail
    assert careers.get_nomination(world.uow(), world.actor("arch"), c.NominationRef(nomination_id=nomination.id),
                                  PANELS).status == "nominated"  # nothing written
    assert world.outbox("nomination.decided.v1") == []
    done = careers.decide_nomination(world.uow(), world.actor("arch"),
                                     promote.model_copy(update={"override_criteria": True}), PANELS)
    assert done.status == "promoted" and done.criteria_overridden == unmet
    [(_, event)] = world.outbox("nomination.decided.v1")
    assert event["criteria_overridden"] == unmet and event["reason"] == "exceptional year"
    # declining needs no override, and records none
    other = careers.nominate(world.uow(), world.actor("m"), c.Nominate(
        person_id="peer", sequence="technical", target_level="T3", reason="x"))
    declined = careers.decide_nomination(world.uow(), world.actor("arch"), c.DecideNomination(
        nomination_id=other.id, outcome="not_promoted", reason="one more cycle"), PANELS)
    assert declined.status == "not_promoted" and declined.criteria_overridden == []


def test_a_star_is_published_with_consent_and_earns_points_once(world):
    org(world)
    story = c.NominateStar(person_id="dev", quarter="2026-Q4", title="From red to green",
                           goal_path="Latency KR red in October, recovered by caching", learned="measure first")
    assert world.failure(careers.nominate_star, world.uow(), world.actor("peer"), story, world.settings).status == 403
    future = story.model_copy(update={"quarter": "2027-Q1"})
    assert world.failure(careers.nominate_star, world.uow(), world.actor("m"), future, world.settings
                   ).errors[0]["field"] == "quarter"
    star = careers.nominate_star(world.uow(), world.actor("m"), story, world.settings)
    again = world.failure(careers.nominate_star, world.uow(), world.actor("m"), story, world.settings)
    assert again.status == 422 and again.errors[0]["field"] == "person_id"
    approved = careers.approve_star(world.uow(), world.actor("hr"), c.StarRef(star_id=star.id))
    assert approved.status == "approved"
    no_consent = world.failure(careers.publish_star, world.uow(), world.actor("hr"), c.StarRef(star_id=star.id))
    assert no_consent.status == 422 and no_consent.errors[0]["field"] == "consent"
    assert world.failure(careers.consent_star, world.uow(), world.actor("m"),
                   c.StarConsent(star_id=star.id, consent=True)).status == 403
    careers.consent_star(world.uow(), world.actor("dev"), c.StarConsent(star_id=star.id, consent=True))
    published = careers.publish_star(world.uow(), world.actor("hr"), c.StarRef(star_id=star.id))
    assert published.status == "published"
    assert world.failure(careers.publish_star, world.uow(), world.actor("hr"), c.StarRef(star_id=star.id)).status == 422
    assert points.get_points(world.uow(), world.actor("dev"), c.PointsQuery(person_id="dev")).balance == 200
    board = careers.list_stars(world.uow(), world.actor("peer"), c.ListStars(quarter="2026-Q4")).items
    assert [s.title for s in board] == ["From red to green"]
    careers.consent_star(world.uow(), world.actor("dev"), c.StarConsent(star_id=star.id, consent=False))
    assert careers.list_stars(world.uow(), world.actor("peer"), c.ListStars(quarter="2026-Q4")).items == []
    assert len(world.outbox("star.published.v1")) == 1
