"""The daily retention sweep through compliance's use cases, on SQLite and PostgreSQL: with the PIPL preset, closed
appeals and data-subject requests are purged three years after they ended (what a legal hold covers is kept), the
recent ones stay, every purge is published, and the sweep runs once a day."""
from __future__ import annotations

from datetime import UTC, datetime

from compliance.usecases import appeals, dsr, retention, settings
from contracts import compliance as c
from contracts.actor import Actor

KEY = b"pseudonym key of the retention test, 32+ bytes"


def person(subject: str) -> Actor:
    return Actor(subject=subject, kind="person")


def test_the_sweep_purges_what_ended_three_years_ago_once_a_day(compliance):
    run = compliance.run
    appellant, peer, root = person("T"), person("P"), person("root")
    compliance.now = datetime(2022, 6, 1, 9, 0, tzinfo=UTC)  # closed three and a half years before today
    old = run(appeals.submit_appeal, appellant, c.SubmitAppeal(target_kind="rating", target_ref="rating-T-2021",
                                                               reasons="2021 rating"))
    run(appeals.withdraw_appeal, appellant, c.AppealRef(appeal_id=old.appeal_id))
    held = run(appeals.submit_appeal, peer, c.SubmitAppeal(target_kind="rating", target_ref="rating-P-2021",
                                                           reasons="2021 rating"))
    run(appeals.withdraw_appeal, peer, c.AppealRef(appeal_id=held.appeal_id))
    old_export = run(dsr.request_export, appellant, c.DsrSubject(), None, [], 1.0)  # no other service asked
    compliance.now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # this quarter: kept
    recent = run(appeals.submit_appeal, appellant, c.SubmitAppeal(target_kind="rating", target_ref="rating-T-2026",
                                                                  reasons="Q3 2026 rating"))
    run(appeals.withdraw_appeal, appellant, c.AppealRef(appeal_id=recent.appeal_id))

    compliance.now = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    run(settings.apply_preset, root, c.ApplyPreset(preset="pipl"))
    run(retention.place_hold, root, c.PlaceHold(reason="P's 2021 dispute in court", subject="P",
                                                record_type="appeal"))
    mark = compliance.mark()
    swept = run(retention.run_sweep, root, KEY)
    assert swept.ran and swept.sweep_date == "2026-12-03"
    assert swept.purged == {"appeal": 1, "dsr": 1}, swept
    assert compliance.scalar("select count(*) from compliance_appeals where appeal_id = :a", a=old.appeal_id) == 0
    assert compliance.scalar("select count(*) from compliance_dsr_requests where request_id = :r",
                             r=old_export.request.request_id) == 0
    kept = {row.appeal_id for row in compliance.rows("select appeal_id from compliance_appeals")}
    assert kept == {held.appeal_id, recent.appeal_id}  # under the hold, and too recent
    purges = {data["record_type"]: data["record_ids"]
              for _, data in compliance.events(since=mark, type_suffix="records.purged.v1")}
    assert purges == {"appeal": [old.appeal_id], "dsr": [old_export.request.request_id]}
    assert compliance.events(since=mark, type_suffix="retention.sweep_requested.v1")

    again = run(retention.run_sweep, root, KEY)  # the same day: nothing happens
    assert not again.ran and again.purged == {}
