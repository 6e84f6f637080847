"""`OrgSync`: a service's org read model catches up with the directory it never saw in events.

A read model only hears the events published after its queue existed. A new service, a new deployment or a wiped
database would otherwise deny everyone until each person changed again. Declare the provider and nothing else:

    class GoalsService(Service):
        uow = Database(GoalsUnitOfWork)
        org_sync = OrgSync()                      # beside the usual @event_handler(..., ORG_EVENT_TYPES)

At container start a managed greenthread (start-up never waits for it) checks the markers in `chassis_org_meta`
and, when this read model never completed a snapshot or a resync was requested since the last one, pages through
`compliance.org_snapshot` (units, people, grants) and applies each page in its own transaction with the version
rules of the events (`chassis.access.snapshot`), except that the owner's snapshot wins over any row written
before the resync began with a version above the owner's (a forged version jump never locks out the source).
Every call has a timeout; while compliance is not up, it retries with exponential backoff, resuming at the page
that failed. Then it checks again every `ORG_SYNC_CHECK_INTERVAL`
seconds, so a request recorded by another replica is taken up too.

Resync: `compliance.request_org_resync` (administrators) publishes `OrgResyncRequested`; the org event handler
counts it (`apply_org_event`) and wakes the sync of that process. A service may also offer its own RPC calling
`self.org_sync.request_resync()`. `/health/ready` shows the state (`org_sync`) without ever failing on it:
a service whose directory is behind still serves what it knows.

`OrgSync(on_people_moved=fn)`: `fn(session, {person_id: new_org_unit_id})` runs in a page's transaction for
the people a page moved to another unit (what a service's PersonChanged handler does on a move).

Settings (config key, or env `<SERVICE>_<KEY>`): ORG_SYNC_PAGE_SIZE (1000), ORG_SYNC_RPC_TIMEOUT (10 s),
ORG_SYNC_FIRST_RETRY (0.5 s, doubling), ORG_SYNC_MAX_BACKOFF (30 s), ORG_SYNC_CHECK_INTERVAL (60 s).
"""
from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import eventlet
from eventlet.event import Event as GreenEvent
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from chassis.access.readmodel import mark_synced, on_resync_requested, request_resync, sync_needed
from chassis.access.snapshot import KINDS, apply_snapshot
from chassis.context import context_data_for, new_correlation_id
from chassis.db import utcnow
from chassis.remote import RpcCaller, RpcClient
from contracts.actor import Actor
from contracts.org import OrgSnapshotPage

if TYPE_CHECKING:
    from eventlet.greenthread import GreenThread

    from chassis.framework import WorkerContext

log = logging.getLogger(__name__)


class SyncSettings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    org_sync_page_size: int = Field(1000, ge=1, le=5000)
    org_sync_rpc_timeout: float = Field(10.0, gt=0, le=300)
    org_sync_first_retry: float = Field(0.5, gt=0)
    org_sync_max_backoff: float = Field(30.0, gt=0)
    org_sync_check_interval: float = Field(60.0, gt=0)

    @classmethod
    def of(cls, service: str, config: dict[str, Any]) -> SyncSettings:
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = name.upper()
            value = config.get(key)
            if value in (None, ""):
                value = os.environ.get(f"{service.upper().replace('-', '_')}_{key}")
            if value not in (None, ""):
                values[name] = value
        try:
            return cls(**values)
        except ValidationError as exc:  # a bad setting stops the start, naming it
            raise SystemExit(f"invalid org sync settings for {service}: {exc}") from None

    def backoff(self, failures: int) -> float:
        """Seconds before attempt `failures + 1`: doubling from the first retry, capped, with some jitter."""
        delay = min(self.org_sync_max_backoff, self.org_sync_first_retry * float(2 ** max(0, failures - 1)))
        return delay * random.uniform(0.8, 1.0)


@dataclass
class _Job:
    """A snapshot in progress: where to resume after a failure."""

    wanted: int
    kind: int = 0
    after: str | None = None
    pages: int = 0
    entities: int = 0
    started: float = 0.0
    began_at: datetime | None = None  # wall clock, as the read model's updated_at: the owner wins over older rows


class OrgSync(RpcClient):
    """Keeps the org read model caught up with the directory's snapshot (see the module docstring). It is an
    RPC client of its own, for its calls to compliance."""

    def __init__(self, source: str = "compliance",
                 on_people_moved: Callable[[Session, dict[str, str | None]], None] | None = None,
                 **kwargs: Any) -> None:
        self.source = source
        self.on_people_moved = on_people_moved
        super().__init__(**kwargs)

    def setup(self) -> None:
        super().setup()
        self.settings = SyncSettings.of(self.container.service_name, self.container.config)
        self.state = "not started"
        self.failures = 0
        self.last_synced_at: float | None = None
        self._running = False
        self._in_rpc = False
        self._wake = GreenEvent()
        self._gt: GreenThread | None = None

    def start(self) -> None:
        self._running = True
        self._gt = self.container.spawn_managed_thread(self._run, identifier="org-sync")

    def stop(self) -> None:
        self._halt()
        super().stop()

    def kill(self) -> None:
        self._halt()
        super().kill()

    def _halt(self) -> None:
        self._running = False
        self.wake()
        if self._in_rpc and self._gt is not None:
            self._gt.kill()  # waiting for an answer holds nothing: no reason to wait out its timeout

    def get_dependency(self, worker_ctx: WorkerContext) -> OrgSync:
        return self

    def ready(self) -> tuple[bool, str]:
        return True, self.state  # informational: a read model behind still serves what it knows

    # -- for the service -------------------------------------------------------------------------------------
    def request_resync(self) -> None:
        """Take a new snapshot soon (this process at once; other replicas at their next check)."""
        with Session(self._engine()) as session, session.begin():
            request_resync(session)

    def wake(self) -> None:
        if not self._wake.ready():
            self._wake.send(True)

    # -- the loop --------------------------------------------------------------------------------------------
    def _engine(self) -> Engine:
        engine: Engine = self.container._jixiao_store.engine  # RpcClient's container is untyped (chassis.remote)
        return engine  # the service's Database (its setup ran before any start)

    def _run(self) -> None:
        self._await_reply_queue()
        engine = self._engine()
        on_resync_requested(engine, self.wake)
        job: _Job | None = None
        while self._running:
            delay = self.settings.org_sync_check_interval
            try:
                if job is None:
                    with engine.connect() as connection:
                        wanted = sync_needed(connection)
                    if wanted is not None:
                        job = _Job(wanted, started=time.monotonic(), began_at=utcnow())
                if job is not None:
                    self._take(engine, job)
                    job = None
                self.failures = 0
            except Exception as exc:  # compliance or the database is away: back off and resume where it stopped
                self.failures += 1
                delay = self.settings.backoff(self.failures)
                self.state = (f"{'syncing' if self.last_synced_at else 'never synced'}: attempt {self.failures} "
                              f"failed ({type(exc).__name__}: {str(exc)[:200]}); retrying in {delay:.1f}s")
                log.warning("org sync: %s", self.state)
            if self._running:
                self._sleep(delay)

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        if self._wake.ready():
            self._wake = GreenEvent()

    def _take(self, engine: Engine, job: _Job) -> None:
        self.state = f"syncing from {self.source}"
        service = self.container.service_name
        context = context_data_for(Actor.system(service), new_correlation_id())
        caller = RpcCaller(self._send, self.settings.org_sync_rpc_timeout, context, self.observe)
        while job.kind < len(KINDS):
            if not self._running:
                return
            kind = KINDS[job.kind]
            self._in_rpc = True
            try:
                answer = caller.call(f"{self.source}.org_snapshot",
                                     {"kind": kind, "after": job.after, "limit": self.settings.org_sync_page_size})
            finally:
                self._in_rpc = False
            page = OrgSnapshotPage.model_validate(answer)
            if page.kind != kind:
                raise ValueError(f"asked for {kind}, got a page of {page.kind}")
            with Session(engine) as session, session.begin():
                applied = apply_snapshot(session, page, owner_wins_before=job.began_at)
                if applied.moved and self.on_people_moved is not None:
                    self.on_people_moved(session, applied.moved)
            job.pages += 1
            job.entities += applied.entities
            if page.next_cursor is None:
                job.kind, job.after = job.kind + 1, None
            else:
                job.after = page.next_cursor
        with engine.begin() as connection:
            mark_synced(connection, job.wanted)
        self.last_synced_at = time.time()
        seconds = time.monotonic() - job.started
        self.state = (f"synced from {self.source}: {job.entities} entities in {job.pages} pages, {seconds:.1f}s "
                      f"(at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(self.last_synced_at))})")
        log.info("org sync: %s", self.state)

    def _await_reply_queue(self, timeout: float = 10.0) -> None:
        """A request sent before the reply queue exists gets an answer nobody hears: wait for the consumer."""
        ready = getattr(self.reply_listener.queue_consumer, "_consumers_ready", None)
        if ready is None:
            return
        try:
            with eventlet.Timeout(timeout, False):
                ready.wait()
        except Exception:  # the consumer failed to start: the calls will time out and be retried
            log.warning("org sync: the RPC reply consumer did not start")
