"""The compliance service: a thin nameko adapter over its use cases (compliance.usecases.*).

Entrypoints: RPCs for the gateway (directory, import, access decisions, audit, data-subject requests, holds and
retention, appeals, third-party clients, settings); the audit consumer bound to every service's events exchange
(`AUDIT_SOURCES`); the erasure replies of the data-holding services (`DSR_SERVICES`); its own import jobs; the
daily retention sweep; the deadline sweep (unanswered erasure parts, overdue appeals). The audit writer
(sealer) runs beside them as a managed thread.
"""
from __future__ import annotations

from datetime import timedelta

from chassis import RpcClient, Service, event_handler, rpc
from compliance import access, errors
from compliance.audit_writer import AuditWriter
from compliance.dependencies import ApiKeyCache, ComplianceDatabase, SettingTimer
from compliance.repositories import ComplianceUnitOfWork
from compliance.settings import ComplianceSettings, Settings, compliance_settings
from compliance.usecases import appeals, audit, clients, directory, dsr, imports, retention, settings
from contracts import compliance as c
from contracts import org
from contracts.actor import Actor
from contracts.compliance import ImportRequested

errors.register()  # compliance's domain errors as problem documents (explicit, once)
access.register()  # compliance's own actions in the chassis policy


def _json(result):
    if isinstance(result, list):
        return [item.model_dump(mode="json") for item in result]
    return result.model_dump(mode="json")


class ComplianceService(Service):
    name = "compliance"
    settings_class = ComplianceSettings
    uow = ComplianceDatabase(ComplianceUnitOfWork)
    config = Settings()
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
        return _json(directory.org_snapshot(self.uow, self.call.actor, org.OrgSnapshotQuery.model_validate(payload)))

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
    @event_handler(lambda container: compliance_settings(container).audit_sources, "#", batch_size=500, batch_wait=0.02)
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

    @event_handler(lambda container: compliance_settings(container).dsr_services,
                   ["jixiao.*.erasure.completed.v1", "jixiao.*.erasure.failed.v1"])
    def on_erasure_reply(self, event):
        dsr.on_erasure_reply(self.uow, event)

    @SettingTimer.decorator(setting="deadline_check_interval")
    def check_deadlines(self):
        """Erasure parts nobody answered fail at their deadline; HR hears of overdue appeals, once each; a client's
        lapsed agreement is announced, once per lapse."""
        dsr.fail_unanswered(self.uow, timedelta(seconds=self.config.dsr_answer_deadline))
        appeals.notify_overdue(self.uow)
        clients.announce_lapsed_agreements(self.uow)  # once per lapse: deliveries to the client stop at once

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

    def _audit_anchor(self) -> audit.AuditAnchor:
        """How a re-anchored audit log signs and witnesses its new start."""
        return self.config.audit_key_bytes(), self.config.audit_key_id, self.audit_writer.witness

    @rpc
    def run_retention_sweep(self):
        return _json(retention.run_sweep(self.uow, self.call.actor, self.config.pseudonym_key_bytes(),
                                         audit_anchor=self._audit_anchor()))

    @SettingTimer.decorator(setting="retention_check_interval")
    def daily_retention_sweep(self):
        """A look every RETENTION_CHECK_INTERVAL (an hour); the sweep itself runs once per UTC day."""
        retention.run_sweep(self.uow, None, self.config.pseudonym_key_bytes(), check_access=False,
                            audit_anchor=self._audit_anchor())

    # -- appeals --------------------------------------------------------------------------------------------
    @rpc
    def submit_appeal(self, payload):
        return _json(appeals.submit_appeal(self.uow, self.call.actor, c.SubmitAppeal.model_validate(payload),
                                           self.rpc_out, frozenset(self.config.appeal_target_checks),
                                           self.config.appeal_check_budget()))

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
    def update_client(self, payload):
        return _json(clients.update_client(self.uow, self.call.actor, c.UpdateClient.model_validate(payload)))

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
