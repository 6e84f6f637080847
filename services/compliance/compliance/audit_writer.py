"""The audit writer: the single writer of the audit chain, run beside the service's workers as a managed thread.

It seals staged events in batches (compliance.usecases.audit.seal_pending), cuts timed checkpoints that leave the
database (the witness file and a published event), reports the audit lag as metrics, and makes /health/ready say
"not ready" while staged events wait longer than AUDIT_READY_MAX_LAG.

The witness file has one writer: the process with AUDIT_WITNESS_WRITER (default on; in Kubernetes only the
single-replica `jixiao-compliance-witness` StatefulSet, on its own volume). Replicas without it seal and sign
but neither cut timed checkpoints nor append retention anchors (`witness` is None for them); the writer appends
a signed anchor it does not hold yet at its next checkpoint, wherever the retention ran.
"""
from __future__ import annotations

import logging

import eventlet
from eventlet.event import Event as GreenEvent
from nameko.extensions import DependencyProvider
from prometheus_client.core import GaugeMetricFamily

from chassis.db import utcnow
from chassis.metrics import metrics_of
from compliance.domain.audit_chain import Checkpoint, WitnessRecord
from compliance.repositories import audit_session
from compliance.settings import compliance_settings
from compliance.usecases import audit
from compliance.witness import WitnessFile, holds_anchor

log = logging.getLogger(__name__)


class AuditWriter(DependencyProvider):
    """The single writer of the audit chain: seals staged events in batches and cuts timed checkpoints."""

    def setup(self):
        self.config = compliance_settings(self.container)
        self._running = False
        self._wake = GreenEvent()
        self._stopped = GreenEvent()
        self._anchor_witnessed: tuple[int, str] | None = None
        # only the witness writer holds the file: another replica's copy would be a second, diverging witness
        self.witness = WitnessFile(self.config.witness_path()) if self.config.audit_witness_writer else None

    def start(self):
        self._running = True
        metrics_of(self.container).add_collector(self._metrics)
        self.container.spawn_managed_thread(self._run, identifier="audit-writer")

    def lag(self) -> dict[str, float]:
        with audit_session(self.container._jixiao_store.engine) as log:
            return audit.lag(log, utcnow())

    def _metrics(self) -> list[GaugeMetricFamily]:
        lag = self.lag()
        service = self.container.service_name
        families = []
        for name, key, help_text in AUDIT_GAUGES:
            family = GaugeMetricFamily(name, help_text, labels=["service"])
            family.add_metric([service], lag[key])
            families.append(family)
        return families

    def ready(self) -> tuple[bool, str]:
        """Not ready while audit events wait longer than AUDIT_READY_MAX_LAG to be sealed (auditing stopped)."""
        try:
            lag = self.lag()
        except Exception as exc:  # the database check reports the database; this one says the lag is unknown
            return False, f"audit lag unknown ({type(exc).__name__})"
        detail = (f"staged {lag['staged']:.0f} (oldest {lag['staged_oldest_seconds']:.0f}s), dead letters "
                  f"{lag['dead_letters']:.0f}, unwitnessed {lag['unwitnessed']:.0f}")
        return lag["staged_oldest_seconds"] <= self.config.audit_ready_max_lag, detail

    def stop(self):
        self._running = False
        self.wake()
        with eventlet.Timeout(10, False):
            self._stopped.wait()

    def kill(self):
        self._running = False
        self.wake()

    def wake(self):
        if not self._wake.ready():
            self._wake.send(True)

    def _run(self):
        config = self.config
        store = self.container._jixiao_store
        key = config.audit_key_bytes()
        last_checkpoint = eventlet.hubs.get_hub().clock()
        failures = 0
        try:
            while self._running:
                try:
                    sealed = audit.seal_pending(store.engine, key=key, key_id=config.audit_key_id,
                                                checkpoint_every=config.audit_checkpoint_every,
                                                batch=config.audit_seal_batch, now=utcnow(),
                                                max_attempts=config.audit_seal_attempts)
                    now = eventlet.hubs.get_hub().clock()
                    if config.audit_witness_writer and now - last_checkpoint >= config.audit_checkpoint_interval:
                        last_checkpoint = now
                        self._witness(store, key)
                    failures = 0
                    if sealed >= config.audit_seal_batch:
                        eventlet.sleep(0)
                        continue
                    delay = config.audit_seal_interval
                except Exception as exc:  # the database is away: keep the staged events, back off, try again
                    failures += 1
                    delay = min(30.0, 0.2 * 2 ** failures)
                    log.warning("audit writer failed (%s); retrying in %.1fs", exc, delay)
                if self._running:
                    self._wake.wait(delay)
                if self._wake.ready():
                    self._wake = GreenEvent()
        finally:
            self._stopped.send(True)

    def _witness(self, store, key: bytes) -> None:
        """The timed checkpoint leaves the database (witness file + published event). Its failure (the witness's
        volume full or read-only) never slows sealing: it is logged, shows as unwitnessed lag, and is retried at
        the next interval."""
        try:
            audit.witness_head(store, key=key, key_id=self.config.audit_key_id, now=utcnow(), witness=self.witness)
            self._witness_anchor(store)
        except Exception as exc:
            log.warning("audit checkpoint not witnessed (%s): %s", self.witness.path, exc)

    def _witness_anchor(self, store) -> None:
        """The retained log's signed start into the witness when it is not there yet (a retention that ran on a
        replica that does not write the witness); read from the file only when the anchor moved."""
        with audit_session(store.engine) as log:
            head = log.head()
            if not head.anchor_sequence or head.anchor_signature is None or head.anchor_time is None:
                return
            anchor = Checkpoint(head.anchor_sequence, head.anchor_hash, head.anchor_time, head.anchor_key_id or "",
                                head.anchor_signature)
        if (anchor.sequence, anchor.hash) == self._anchor_witnessed:
            return
        if not holds_anchor(self.witness.lines(), anchor.sequence, anchor.hash):
            self.witness.append([WitnessRecord("anchor", anchor)])
        self._anchor_witnessed = (anchor.sequence, anchor.hash)

    def get_dependency(self, worker_ctx):
        return self


AUDIT_GAUGES = (
    ("jixiao_audit_staged_events", "staged", "Audit events received and not yet sealed into the chain"),
    ("jixiao_audit_staged_oldest_seconds", "staged_oldest_seconds", "Age of the oldest audit event not yet sealed"),
    ("jixiao_audit_dead_letters", "dead_letters", "Audit events set aside after their sealing attempts"),
    ("jixiao_audit_head_sequence", "head_sequence", "Sequence of the audit log's head"),
    ("jixiao_audit_witnessed_sequence", "witnessed_sequence", "Newest audit checkpoint written to the witness"),
    ("jixiao_audit_unwitnessed_entries", "unwitnessed", "Audit entries after the newest witnessed checkpoint"),
    ("jixiao_audit_unwitnessed_seconds", "witness_age_seconds",
     "Seconds since the newest witnessed checkpoint while entries wait after it"),
)
