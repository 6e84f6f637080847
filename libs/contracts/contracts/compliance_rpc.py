"""The compliance service's RPCs, declared once (contracts.rpc): method -> request, response, the access it needs.

Checked by tests/architecture/test_rpc_tables.py against compliance.service.ComplianceService and the gateway's
compliance routes; `python -m contracts.rpc compliance` prints the README table. The actions are those of the
suite's policy (chassis.access.policy) and compliance's own (`appeal.review`, compliance.access)."""
from __future__ import annotations

from pydantic import RootModel

from contracts import compliance as c
from contracts import org
from contracts.rpc import Rpc, RpcTable


class HoldList(RootModel[list[c.HoldView]]):
    """Every legal hold, as a JSON list (the gateway pages it)."""


class ClientList(RootModel[list[c.ClientView]]):
    """Every registered client, as a JSON list (the gateway pages it)."""


TABLE = RpcTable("compliance", [
    # access decisions and the org read models
    Rpc("decide", c.Decide, c.DecisionView, "anyone, for themself (a denial is recorded)",
        "May the caller do this action on this resource?"),
    Rpc("org_snapshot", org.OrgSnapshotQuery, org.OrgSnapshotPage, "org.snapshot (services act as themselves)",
        "A page of the directory's units, people or grants with their versions (the services' OrgSync)"),
    Rpc("request_org_resync", c.RequestOrgResync, c.OrgResyncView, "org.resync",
        "Make every service's org read model take the directory's snapshot again"),
    # the directory
    Rpc("upsert_org_unit", c.UpsertOrgUnit, c.OrgUnitView, "orgunit.manage", "Create or change an org unit"),
    Rpc("remove_org_unit", c.RemoveOrgUnit, c.OrgUnitView, "orgunit.manage", "Remove an org unit"),
    Rpc("upsert_person", c.UpsertPerson, c.PersonView, "person.update", "Create or replace a person's record"),
    Rpc("get_person", c.PersonRef, c.PersonView, "person.lookup (the record: person.read)",
        "A person's card, or their record for the line, HR and admin"),
    Rpc("list_people", c.ListPeople, c.PeoplePage, "person.lookup (the record: person.read)",
        "People of an org unit's subtree, one card rule with get_person"),
    Rpc("set_grants", c.SetGrants, c.GrantsView, "grants.manage", "Replace a subject's role grants"),
    Rpc("get_grants", c.PersonRef, c.GrantsView, "grants.manage (one's own: self)", "A subject's role grants"),
    # bulk import
    Rpc("start_import", c.StartImport, c.ImportJobView, "org.import",
        "Start an import (a dry run that plans and reports every issue)"),
    Rpc("get_import", c.ImportJobRef, c.ImportJobView, "org.import", "An import job's status and issues"),
    Rpc("apply_import", c.ImportJobRef, c.ImportJobView, "org.import", "Apply a planned import"),
    # the audit log
    Rpc("query_audit", c.AuditQuery, c.AuditPage, "audit.read", "Query the audit log"),
    Rpc("export_audit", c.AuditQuery, c.AuditExport, "audit.read", "Export audit entries as verifiable JSON lines"),
    Rpc("verify_audit", c.VerifyAudit, c.VerifyReportView, "audit.verify",
        "Verify the hash chain and the witnessed checkpoints (ok, unwitnessed or broken)"),
    # data-subject requests
    Rpc("request_data_export", c.DsrSubject, c.DsrExportView, "dsr.request",
        "Export everything held about a person, waiting for every service (scripts)"),
    Rpc("start_data_export", c.DsrSubject, c.DsrView, "dsr.request",
        "Start a data-subject export; every service's part is gathered in the background"),
    Rpc("request_erasure", c.DsrSubject, c.DsrView, "dsr.request", "Erase a person's data (what no hold covers)"),
    Rpc("get_dsr", c.DsrRef, c.DsrExportView, "dsr.read", "A data-subject request and its export"),
    Rpc("retry_dsr", c.DsrRef, c.DsrView, "dsr.request", "Retry the parts of a request that failed"),
    # legal holds and retention
    Rpc("place_hold", c.PlaceHold, c.HoldView, "hold.manage", "Place a legal hold"),
    Rpc("release_hold", c.HoldIdRef, c.HoldView, "hold.manage", "Release a legal hold"),
    Rpc("list_holds", None, HoldList, "hold.manage", "Every legal hold"),
    Rpc("run_retention_sweep", None, c.SweepView, "retention.manage", "Run today's retention sweep (once a day)"),
    # appeals
    Rpc("submit_appeal", c.SubmitAppeal, c.AppealView, "appeal.create",
        "Appeal one's own rating or goal result (checked with its owning service)"),
    Rpc("get_appeal", c.AppealRef, c.AppealView, "appeal.read", "Read an appeal"),
    Rpc("list_appeals", c.ListAppeals, c.AppealsPage, "appeal.read", "Appeals the caller may see"),
    Rpc("start_appeal_review", c.AppealRef, c.AppealView, "appeal.review",
        "Start reviewing an appeal (never the appellant, their manager nor who rated)"),
    Rpc("decide_appeal", c.DecideAppeal, c.AppealView, "appeal.decide",
        "Decide an appeal: upheld, or amended with the corrected values"),
    Rpc("withdraw_appeal", c.AppealRef, c.AppealView, "appeal.withdraw", "Withdraw one's own open appeal"),
    # third-party clients
    Rpc("register_client", c.RegisterClient, c.ClientView, "client.manage", "Register a third-party client"),
    Rpc("get_client", c.ClientRef, c.ClientView, "client.manage", "Read a client"),
    Rpc("list_clients", None, ClientList, "client.manage", "Every registered client"),
    Rpc("update_client", c.UpdateClient, c.ClientView, "client.manage",
        "Change a client's name, scopes, event patterns or agreement (a renewal); not a revoked one"),
    Rpc("issue_api_key", c.IssueApiKey, c.ApiKeyIssued, "client.manage", "Issue an API key (shown once)"),
    Rpc("revoke_client", c.ClientRef, c.ClientView, "client.manage", "Revoke a client and all its keys"),
    Rpc("revoke_api_key", c.RevokeApiKey, c.ClientView, "client.manage", "Revoke one API key"),
    Rpc("authenticate_api_key", c.AuthenticateApiKey, c.ClientIdentity, "the gateway (a key proves itself)",
        "The client and scopes an API key stands for (401 unknown, 403 revoked or its agreement lapsed)"),
    # settings and presets
    Rpc("get_settings", None, c.SettingsView, "settings.update", "Compliance settings and the presets available"),
    Rpc("update_settings", c.UpdateSettings, c.SettingsView, "settings.update", "Change compliance settings"),
    Rpc("apply_preset", c.ApplyPreset, c.SettingsView, "settings.update", "Apply a compliance preset (PIPL, GDPR)"),
    Rpc("privacy_notice", None, c.PrivacyNotice, "any authenticated actor", "The privacy notice in force"),
])
