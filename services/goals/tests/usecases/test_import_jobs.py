"""Import jobs (goals.usecases.import_jobs) on SQLite and PostgreSQL, in the quarter running now: a job killed half
way through its apply has written nothing and runs again, once, on the redelivered request; a job that keeps dying
fails with nothing written; only the requester (and company managers) see a job."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from chassis.errors import NotFound
from contracts import bulk as b
from goals.usecases import bulk_import, import_jobs

from . import test_bulk_import as bulk_tests
from .test_bulk_import import command, csv_file, retailer_goals

regions = bulk_tests.regions  # the fixture: 12 regions, their heads, HR


class Killed(BaseException):
    """The process dying half way through the apply (not an error anything catches)."""


def _die_at(monkeypatch, item: int) -> None:
    real = bulk_import.Progress.apply

    def dying(self, done: int) -> None:
        if done == item:
            raise Killed
        real(self, done)
    monkeypatch.setattr(bulk_import.Progress, "apply", dying)


def _start(regions, open_q4):
    q4 = open_q4()
    hr = regions.actors.person("hr")
    job = regions.run(import_jobs.start_goal_import, hr,
                      command(csv_file(retailer_goals()), cycle_id=q4.id, dry_run=False))
    assert (job.state, job.phase, job.attempts, job.report) == ("queued", "waiting", 0, None)
    return hr, job, SimpleNamespace(data={"job_id": job.job_id})  # the ImportRequested envelope's data


def test_a_job_killed_half_way_wrote_nothing_and_the_redelivery_applies_it_once(regions, open_q4, monkeypatch):
    hr, job, request = _start(regions, open_q4)
    _die_at(monkeypatch, 10)
    with pytest.raises(Killed):
        import_jobs.run_job(regions.uow(), request)
    assert regions.scalar("select count(*) from goals") == 0  # ten goals were added, none committed
    seen = regions.run(import_jobs.get_goal_import, hr, b.GoalImportJobRef(job_id=job.job_id))
    assert (seen.state, seen.attempts, seen.rows_total) == ("running", 1, 26)

    monkeypatch.undo()
    import_jobs.run_job(regions.uow(), request)  # the request, unacked by the dead process, comes again
    done = regions.run(import_jobs.get_goal_import, hr, b.GoalImportJobRef(job_id=job.job_id))
    assert (done.state, done.phase, done.attempts, done.rows_done, done.rows_total) == ("done", "finished", 2, 26, 26)
    assert done.report is not None and done.report.applied and done.report.planned == 25
    assert regions.scalar("select count(*) from goals") == 25
    import_jobs.run_job(regions.uow(), request)  # once more (a duplicate delivery): nothing more
    assert regions.scalar("select count(*) from goals") == 25
    assert regions.scalar("select length(content) from import_jobs") == 0  # the file is not kept once done

    with pytest.raises(NotFound):
        regions.run(import_jobs.get_goal_import, regions.actors.person("head_region_01"),
                    b.GoalImportJobRef(job_id=job.job_id))


def test_a_job_that_keeps_dying_fails_with_nothing_written(regions, open_q4, monkeypatch):
    hr, job, request = _start(regions, open_q4)
    _die_at(monkeypatch, 3)
    for _ in range(import_jobs.MAX_ATTEMPTS):
        with pytest.raises(Killed):
            import_jobs.run_job(regions.uow(), request)
    import_jobs.run_job(regions.uow(), request)
    failed = regions.run(import_jobs.get_goal_import, hr, b.GoalImportJobRef(job_id=job.job_id))
    assert (failed.state, failed.attempts, failed.report) == ("failed", import_jobs.MAX_ATTEMPTS + 1, None)
    assert failed.detail is not None and "nothing was written" in failed.detail
    assert regions.scalar("select count(*) from goals") == 0


def test_a_dry_run_job_reports_without_writing(regions, open_q4):
    q4 = open_q4()
    hr = regions.actors.person("hr")
    job = regions.run(import_jobs.start_goal_import, hr, command(csv_file(retailer_goals()), cycle_id=q4.id))
    import_jobs.run_job(regions.uow(), SimpleNamespace(data={"job_id": job.job_id}))
    done = regions.run(import_jobs.get_goal_import, hr, b.GoalImportJobRef(job_id=job.job_id))
    assert done.state == "done" and done.report is not None and done.report.dry_run and not done.report.applied
    assert (done.report.rows, done.report.error_count) == (26, 0)
    assert regions.scalar("select count(*) from goals") == 0


def test_count_rows_skips_the_header_and_blank_rows():
    content = "编号,目标名称\r\na,x\r\n,\r\nb,y\r\n".encode("utf-8-sig")
    assert import_jobs.count_rows("csv", content, None) == 2
    assert import_jobs.count_rows("csv", b"", None) == 0
