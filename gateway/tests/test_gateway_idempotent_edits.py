"""An Idempotency-Key on every write, edits included (issue 16 task): a retried edit whose first answer was lost is
answered, not carried out again, and announces nothing twice; the key is declared on every write operation."""
from functools import cache

from sqlalchemy import create_engine, text

from gateway import idempotency
from gateway.auth import Authenticator
from gateway.openapi import build_spec
from gateway.routes import build_routes
from gateway.settings import load_gateway_settings

WEEK = "2026-W49"  # the ISO week running now (2026-12-03): open for reports


def _scalar(database_url: str, statement: str, **params):
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(statement), params).scalar()
    finally:
        engine.dispose()


def _report_state(database_url: str, person: str) -> tuple[int | None, int]:
    """The report's version (one per submission carried out) and the events its submissions put in the outbox."""
    report_id = _scalar(database_url, "SELECT id FROM reports WHERE person_id = :p AND period = :w",
                        p=person, w=WEEK)
    version = _scalar(database_url, "SELECT version FROM reports WHERE id = :r", r=report_id)
    events = _scalar(database_url, "SELECT count(*) FROM chassis_outbox WHERE event_type = :t AND body LIKE :r",
                     t="jixiao.feedback.report.submitted.v1", r=f"%{report_id}%") if report_id else 0
    return version, events


def test_a_retried_report_submission_is_answered_once_and_emits_one_event(seeded):
    """A weekly report submission is an edit (the week's report, written again): before, a retry with the same
    Idempotency-Key was submitted twice (version 2, a second ReportSubmitted). Now the retry gets the first answer."""
    from chassis.runtime import settings_of

    feedback_db = settings_of(seeded.containers["feedback"]).database_url
    employee = seeded.as_("E1")
    body = {"kind": "weekly", "period": WEEK, "done": "closed three deals", "blockers": ["pricing approval"]}
    key = {"Idempotency-Key": "e1-week-49-report"}

    first = employee.post("/api/v1/feedback/reports", body, headers=key)
    assert first.status_code == 200, first.text
    assert "Idempotent-Replayed" not in first.headers
    assert _report_state(feedback_db, "E1") == (1, 1)

    retry = employee.post("/api/v1/feedback/reports", body, headers=key)  # the first answer was lost
    assert retry.status_code == 200, retry.text
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert retry.json() == first.json()
    assert _report_state(feedback_db, "E1") == (1, 1)  # carried out once, announced once

    other = employee.post("/api/v1/feedback/reports", {**body, "done": "closed four deals"}, headers=key)
    assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-key-reused"), other.text
    assert _report_state(feedback_db, "E1") == (1, 1)

    # the same edit without a key, or with a new one, is carried out: the count above can tell one from two
    edited = employee.post("/api/v1/feedback/reports", body, headers={"Idempotency-Key": "e1-week-49-again"})
    assert edited.status_code == 200 and "Idempotent-Replayed" not in edited.headers, edited.text
    assert _report_state(feedback_db, "E1") == (2, 2)


def test_a_retried_patch_is_not_carried_out_twice(seeded):
    """PATCH /goals/{id} with If-Match: the retry with the same key answers the first 200 (not a 409 stale, which
    is what running it again would answer: the first attempt moved the version on)."""
    hr, employee = seeded.as_("H1"), seeded.as_("E1")
    cycle = hr.post("/api/v1/cycles", {"name": "Q4 2026 edits", "period": "quarter", "year": 2026, "index": 4})
    assert cycle.status_code == 201, cycle.text
    goal = employee.post("/api/v1/goals", {
        "cycle_id": cycle.json()["id"], "title": "Win the Q4 accounts", "kind": "kpi", "owner": {"id": "E1"},
        "kpi": {"direction": ">=", "target": "100", "green": "90", "yellow": "70"}})
    assert goal.status_code == 201, goal.text
    path = f"/api/v1/goals/{goal.json()['id']}"
    tag = employee.get(path).headers["ETag"]
    headers = {"If-Match": tag, "Idempotency-Key": "rename-q4-goal"}

    first = employee.patch(path, {"title": "Win the Q4 key accounts"}, headers=headers)
    assert first.status_code == 200, first.text
    retry = employee.patch(path, {"title": "Win the Q4 key accounts"}, headers=headers)
    assert (retry.status_code, retry.headers.get("Idempotent-Replayed")) == (200, "true"), retry.text
    assert retry.json() == first.json()
    assert employee.get(path).json()["version"] == first.json()["version"]
    # without the key the same request runs again, and is stale
    again = employee.patch(path, {"title": "Win the Q4 key accounts"}, headers={"If-Match": tag})
    assert again.status_code == 409, again.text


@cache
def _operations() -> list[tuple[str, str, dict]]:
    settings = load_gateway_settings({"ENVIRONMENT": "development"})
    routes = build_routes(settings, "development", Authenticator(settings, "development"))
    spec = build_spec(routes, {})
    return [(path, method, operation) for path, methods in spec["paths"].items()
            for method, operation in methods.items() if isinstance(operation, dict) and "responses" in operation]


def _declares_key(operation: dict) -> bool:
    return any(p.get("in") == "header" and p.get("name") == "Idempotency-Key" for p in operation["parameters"])


def test_every_authenticated_write_declares_the_key_and_no_read_does():
    writes = [(path, method, op) for path, method, op in _operations()
              if method in ("post", "put", "patch", "delete") and op.get("security") != []]
    assert any(method in ("put", "patch") for _, method, _ in writes)  # edits are among them
    assert [f"{m} {p}" for p, m, op in writes if not _declares_key(op)] == []
    for path, method, op in writes:
        header = next(p for p in op["parameters"] if p.get("name") == "Idempotency-Key")
        assert header["schema"]["pattern"] == idempotency.KEY_PATTERN.pattern
        success = next(r for status, r in op["responses"].items() if status.startswith("2"))
        assert "Idempotent-Replayed" in success["headers"], f"{method} {path}"
    reads = [f"{m} {p}" for p, m, op in _operations() if m == "get" and _declares_key(op)]
    assert reads == []
