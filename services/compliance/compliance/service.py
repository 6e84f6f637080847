"""The compliance service: a thin nameko adapter over its use cases (compliance.usecases.*).

Entrypoints: RPCs for the gateway (directory, import, access decisions, audit, data-subject requests, holds and
retention, appeals, third-party clients, settings); the audit consumer bound to every service's events exchange
(`AUDIT_SOURCES`); the erasure replies of the data-holding services (`DSR_SERVICES`); its own import jobs; the
daily retention sweep; the deadline sweep (unanswered erasure parts, overdue appeals). The audit writer
(sealer) runs beside them as a managed thread.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import eventlet
from eventlet.event import Event as GreenEvent
from nameko.extensions import DependencyProvider
from nameko.timer import Timer, timer
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.orm import Session

from chassis import Database, RpcClient, Service, event_handler, register_error, rpc
from chassis.db import utcnow
from chassis.errors import Conflict, Forbidden, InvalidInput, NotFound, Unprocessable
from chassis.metrics import metrics_of
from chassis.runtime import settings_of
from compliance.config import Config, config_of
from compliance.domain import errors as domain_errors
from compliance.usecases import appeals, audit, clients, directory, dsr, imports, retention, settings
from compliance.usecases.common import ComplianceUnitOfWork
from compliance.witness import WitnessFile
from contracts import compliance as c
from contracts.actor import Actor
from contracts.compliance import ImportRequested
from contracts.org import OrgSnapshotQuery

log = logging.getLogger(__name__)


def _field_errors(error: domain_errors.InvalidInput) -> list[dict]:
    return [{"field": ".".join(str(p) for p in e.path) or "body", "message": e.message} for e in error.errors]


register_error(domain_errors.InvalidInput, lambda e: InvalidInput(e.message, errors=_field_errors(e)))
register_error(domain_errors.NotAllowed, lambda e: Forbidden(e.message))
register_error(domain_errors.NotFound, lambda e: NotFound(e.message))
register_error(domain_errors.Conflict, lambda e: Conflict(e.message))
register_error(domain_errors.IntegrityError, lambda e: Unprocessable(e.message))


class ComplianceDatabase(Database):
    """The database dependency, handing the configured bootstrap administrators to each unit of work."""

    def get_dependency(self, worker_ctx):
        uow = super().get_dependency(worker_ctx)
        uow.bootstrap_admins = frozenset(config_of(self.container).bootstrap_admins)
        return uow


class AuditWriter(DependencyProvider):
    """The single writer of the audit chain: seals staged events in batches and cuts timed checkpoints."""

    def setup(self):
        self.config = config_of(self.container)
        self._running = False
        self._wake = GreenEvent()
        self._stopped = GreenEvent()
        path = self.config.audit_witness_path or settings_of(self.container).var_dir / "compliance-audit-witness.jsonl"
        self.witness = WitnessFile(path)

    def start(self):
        self._running = True
        metrics_of(self.container).add_collector(self._metrics)
        self.container.spawn_managed_thread(self._run, identifier="audit-writer")

    def lag(self) -> dict[str, float]:
        with Session(self.container._jixiao_store.engine) as session:
            return audit.lag(session, utcnow())

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
                    if now - last_checkpoint >= config.audit_checkpoint_interval:
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
        except Exception as exc:
            log.warning("audit checkpoint not witnessed (%s): %s", self.witness.path, exc)

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


class SettingTimer(Timer):
    """nameko's timer, firing every `<setting>` seconds (a compliance setting)."""

    def __init__(self, setting: str, **kwargs):
        self.setting = setting
        super().__init__(interval=None, **kwargs)

    def setup(self):
        self.interval = float(getattr(config_of(self.container), self.setting))


class ApiKeyCache(DependencyProvider):
    def setup(self):
        self.cache = clients.VerificationCache(config_of(self.container).api_key_cache_seconds)

    def get_dependency(self, worker_ctx):
        return self.cache


def _json(result):
    if isinstance(result, list):
        return [item.model_dump(mode="json") for item in result]
    return result.model_dump(mode="json")


class ComplianceService(Service):
    name = "compliance"
    uow = ComplianceDatabase(ComplianceUnitOfWork)
    config = Config()
    rpc_out = RpcClient()
    audit_writer = AuditWriter()
    api_keys = ApiKeyCache()

    # -- access ---------------------------------------------------------------------------------------------
    @rpc
    def decide(self, payload):
        return _json(directory.decide(self.uow, self.call.actor, c.Decide.model_validate(payload)))

    # -- every service's org read model catching up (chassis.access.OrgSync) --------------------------------
    @rpc
    def org_snapshot(self, payload):
        return _json(directory.org_snapshot(self.uow, self.call.actor, OrgSnapshotQuery.model_validate(payload)))

    @rpc
    def request_org_resync(self, payload):
        command = c.RequestOrgResync.model_validate(payload)
        return _json(directory.request_org_resync(self.uow, self.call.actor, command))

    # -- directory ------------------------------------------------------------------------------------------
    @rpc
    def upsert_org_unit(self, payload):
        return _json(directory.upsert_org_unit(self.uow, self.call.actor, c.UpsertOrgUnit.model_validate(payload)))

    @rpc
    def remove_org_unit(self, payload):
        return _json(directory.remove_org_unit(self.uow, self.call.actor, c.RemoveOrgUnit.model_validate(payload)))

    @rpc
    def upsert_person(self, payload):
        return _json(directory.upsert_person(self.uow, self.call.actor, c.UpsertPerson.model_validate(payload)))

    @rpc
    def get_person(self, payload):
        return _json(directory.get_person(self.uow, self.call.actor, c.PersonRef.model_validate(payload)))

    @rpc
    def list_people(self, payload):
        return _json(directory.list_people(self.uow, self.call.actor, c.ListPeople.model_validate(payload)))

    @rpc
    def set_grants(self, payload):
        return _json(directory.set_grants(self.uow, self.call.actor, c.SetGrants.model_validate(payload)))

    @rpc
    def get_grants(self, payload):
        return _json(directory.get_grants(self.uow, self.call.actor, c.PersonRef.model_validate(payload)))

    # -- bulk import ----------------------------------------------------------------------------------------
    @rpc
    def start_import(self, payload):
        command = c.StartImport.model_validate(payload)
        return _json(imports.start_import(self.uow, self.call.actor, command, self.config.upload_dir))

    @rpc
    def get_import(self, payload):
        return _json(imports.get_import(self.uow, self.call.actor, c.ImportJobRef.model_validate(payload)))

    @rpc
    def apply_import(self, payload):
        return _json(imports.apply_import(self.uow, self.call.actor, c.ImportJobRef.model_validate(payload)))

    @event_handler("compliance", ImportRequested.type)
    def on_import_requested(self, event):
        imports.run_phase(self.uow, event)

    # -- audit ----------------------------------------------------------------------------------------------
    @event_handler(lambda container: config_of(container).audit_sources, "#", batch_size=500, batch_wait=0.02)
    def on_any_event(self, events):
        audit.stage(self.uow, events)

    @rpc
    def query_audit(self, payload):
        return _json(audit.query(self.uow, self.call.actor, c.AuditQuery.model_validate(payload)))

    @rpc
    def export_audit(self, payload):
        return _json(audit.export(self.uow, self.call.actor, c.AuditQuery.model_validate(payload)))

    @rpc
    def verify_audit(self, payload=None):
        command = c.VerifyAudit.model_validate(payload or {})
        return _json(audit.verify(self.uow, self.call.actor, command, self.config.audit_verification_keys(),
                                  self.audit_writer.witness))

    # -- data-subject requests ------------------------------------------------------------------------------
    @rpc
    def request_data_export(self, payload=None):
        command = c.DsrSubject.model_validate(payload or {})
        return _json(dsr.request_export(self.uow, self.call.actor, command, self.rpc_out, self.config.dsr_services,
                                        self.config.dsr_timeout))

    @rpc
    def start_data_export(self, payload=None):
        command = c.DsrSubject.model_validate(payload or {})
        return _json(dsr.start_export(self.uow, self.call.actor, command, self.config.dsr_services))

    @event_handler("compliance", c.DsrExportRequested.type)
    def on_export_requested(self, event):
        # the saga acts as compliance itself: the requester was authorized when the request was accepted
        rpc = self.rpc_out.with_context(actor=Actor.system(self.name))
        dsr.run_export(self.uow, event, rpc, self.config.dsr_timeout)

    @rpc
    def request_erasure(self, payload=None):
        command = c.DsrSubject.model_validate(payload or {})
        return _json(dsr.request_erasure(self.uow, self.call.actor, command, self.config.dsr_services,
                                         self.config.pseudonym_key_bytes()))

    @rpc
    def get_dsr(self, payload):
        return _json(dsr.get_dsr(self.uow, self.call.actor, c.DsrRef.model_validate(payload)))

    @rpc
    def retry_dsr(self, payload):
        return _json(dsr.retry_dsr(self.uow, self.call.actor, c.DsrRef.model_validate(payload),
                                   self.config.pseudonym_key_bytes()))

    @event_handler(lambda container: config_of(container).dsr_services,
                   ["jixiao.*.erasure.completed.v1", "jixiao.*.erasure.failed.v1"])
    def on_erasure_reply(self, event):
        dsr.on_erasure_reply(self.uow, event)

    @SettingTimer.decorator(setting="deadline_check_interval")
    def check_deadlines(self):
        """Erasure parts nobody answered fail at their deadline; HR hears of overdue appeals, once each."""
        dsr.fail_unanswered(self.uow, timedelta(seconds=self.config.dsr_answer_deadline))
        appeals.notify_overdue(self.uow)

    # -- legal holds and retention --------------------------------------------------------------------------
    @rpc
    def place_hold(self, payload):
        return _json(retention.place_hold(self.uow, self.call.actor, c.PlaceHold.model_validate(payload)))

    @rpc
    def release_hold(self, payload):
        return _json(retention.release_hold(self.uow, self.call.actor, c.HoldIdRef.model_validate(payload)))

    @rpc
    def list_holds(self):
        return _json(retention.list_holds(self.uow, self.call.actor))

    def _audit_anchor(self) -> tuple:
        return self.config.audit_key_bytes(), self.config.audit_key_id, self.audit_writer.witness

    @rpc
    def run_retention_sweep(self):
        return _json(retention.run_sweep(self.uow, self.call.actor, self.config.pseudonym_key_bytes(),
                                         audit_anchor=self._audit_anchor()))

    @timer(interval=3600)
    def daily_retention_sweep(self):
        """Hourly look; the sweep itself runs once per UTC day."""
        retention.run_sweep(self.uow, None, self.config.pseudonym_key_bytes(), check_access=False,
                            audit_anchor=self._audit_anchor())

    # -- appeals --------------------------------------------------------------------------------------------
    @rpc
    def submit_appeal(self, payload):
        return _json(appeals.submit_appeal(self.uow, self.call.actor, c.SubmitAppeal.model_validate(payload),
                                           self.rpc_out, frozenset(self.config.appeal_target_checks),
                                           min(self.config.appeal_check_timeout,
                                               settings_of(self._container).rpc_timeout / 2)))

    @rpc
    def get_appeal(self, payload):
        return _json(appeals.get_appeal(self.uow, self.call.actor, c.AppealRef.model_validate(payload)))

    @rpc
    def list_appeals(self, payload=None):
        return _json(appeals.list_appeals(self.uow, self.call.actor, c.ListAppeals.model_validate(payload or {})))

    @rpc
    def start_appeal_review(self, payload):
        return _json(appeals.start_review(self.uow, self.call.actor, c.AppealRef.model_validate(payload)))

    @rpc
    def decide_appeal(self, payload):
        return _json(appeals.decide_appeal(self.uow, self.call.actor, c.DecideAppeal.model_validate(payload)))

    @rpc
    def withdraw_appeal(self, payload):
        return _json(appeals.withdraw_appeal(self.uow, self.call.actor, c.AppealRef.model_validate(payload)))

    # -- third-party clients --------------------------------------------------------------------------------
    @rpc
    def register_client(self, payload):
        return _json(clients.register_client(self.uow, self.call.actor, c.RegisterClient.model_validate(payload)))

    @rpc
    def get_client(self, payload):
        return _json(clients.get_client(self.uow, self.call.actor, c.ClientRef.model_validate(payload)))

    @rpc
    def list_clients(self):
        return _json(clients.list_clients(self.uow, self.call.actor))

    @rpc
    def issue_api_key(self, payload):
        return _json(clients.issue_api_key(self.uow, self.call.actor, c.IssueApiKey.model_validate(payload)))

    @rpc
    def revoke_client(self, payload):
        return _json(clients.revoke_client(self.uow, self.call.actor, c.ClientRef.model_validate(payload)))

    @rpc
    def revoke_api_key(self, payload):
        return _json(clients.revoke_api_key(self.uow, self.call.actor, c.RevokeApiKey.model_validate(payload)))

    @rpc
    def authenticate_api_key(self, payload):
        command = c.AuthenticateApiKey.model_validate(payload)
        return _json(clients.authenticate_api_key(self.uow, command, self.api_keys))

    # -- settings and presets -------------------------------------------------------------------------------
    @rpc
    def get_settings(self):
        return _json(settings.get_settings(self.uow, self.call.actor))

    @rpc
    def update_settings(self, payload):
        return _json(settings.update_settings(self.uow, self.call.actor, c.UpdateSettings.model_validate(payload)))

    @rpc
    def apply_preset(self, payload):
        return _json(settings.apply_preset(self.uow, self.call.actor, c.ApplyPreset.model_validate(payload)))

    @rpc
    def privacy_notice(self):
        return _json(settings.privacy_notice(self.uow, self.call.actor))
