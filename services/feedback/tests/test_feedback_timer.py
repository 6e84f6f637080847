"""The timer's interval comes from the settings (FEEDBACK_SWEEP_SECONDS): on the running service it flags the
check-ins of a month whose window has passed, once, as events through the outbox."""
import time

from chassis.testing.plugin import wait_for

FEEDBACK_CONFIG = {"FEEDBACK_SWEEP_SECONDS": 0.3}


def test_the_timer_flags_overdue_checkins_once(feedback_service, uid):
    s = feedback_service
    mgr, a, b, hr = f"{uid}-mgr", f"{uid}-a", f"{uid}-b", f"{uid}-hr"
    s.org(units=[(f"{uid}-co", None)], people=[(mgr, f"{uid}-co", None), (a, f"{uid}-co", mgr),
                                                 (b, f"{uid}-co", mgr), (hr, f"{uid}-co", None)],
          grants={hr: [("hr", f"{uid}-co")]})
    time.sleep(1.1)  # the timer's rounds may have cached the index mid-update: it is trusted for 1 s (max age)
    # November 2026's window (its last working week) is over by today, 2026-12-02
    made = s.as_(mgr).schedule_checkins({"month": "2026-11", "manager_id": mgr})
    assert sorted(i["person_id"] for i in made["items"]) == [a, b]
    overdue = lambda: [e for e in s.outbox(".checkin.overdue.v1") if e["data"]["manager_id"] == mgr]  # noqa: E731
    wait_for(lambda: len(overdue()) == 2, timeout=20, message="the timer flagged both")
    time.sleep(1.0)  # three more rounds of the timer
    assert len(overdue()) == 2  # flagged once, whatever the number of rounds
    assert s.fails(s.as_(a).run_sweeps, {}).status == 403
    assert s.as_(hr).run_sweeps({})["checkins_overdue"] == 0
