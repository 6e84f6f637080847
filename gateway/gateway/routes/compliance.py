"""The compliance service over HTTP: access decisions, the org directory and imports, the audit log, data-subject
requests, legal holds and retention, appeals, third-party clients, compliance settings."""
from __future__ import annotations

from dataclasses import replace

from contracts import compliance as c
from gateway.api import AUTHENTICATED, Route
from gateway.pagination import GATEWAY, Paging
from gateway.routes.build import rpc_route
from gateway.schemas.common import page_of
from gateway.schemas.convert import schema_of

UPLOAD = 64 * 1024 * 1024  # an import file, base64 in the JSON body
PEOPLE = Paging(items="people", cursor="after")
APPEALS = Paging(items="appeals", cursor="after")
AUDIT = Paging(items="entries", cursor="after")


DSR_ACCEPTED = (
    "Accepted at once (202) with the request id and a `Location` to read it back (`GET /privacy/requests/{id}`): "
    "every service is asked for its part in the background. The request ends `completed`, or `incomplete` naming "
    "each part that did not answer in time (an erasure part: within the answer deadline) in `outstanding`.")


def _request_location(body) -> str | None:
    request_id = body.get("request_id") if isinstance(body, dict) else None
    return f"/privacy/requests/{request_id}" if isinstance(request_id, str) and request_id else None


def accepted(route: Route) -> Route:
    """A data-subject request route that answers with a Location of the request to poll."""
    return replace(route, location=_request_location)


def routes() -> list[Route]:
    def r(method, path, rpc, summary, tag, scope, **options):
        return rpc_route(method, path, f"compliance.{rpc}", summary=summary, scope=scope, tag=tag, **options)

    return [
        r("POST", "/access/decisions", "decide", "May the caller do this action on this resource?", "access",
          AUTHENTICATED, request=c.Decide, response=c.DecisionView),
        # the org directory
        r("PUT", "/org-units/{org_unit_id}", "upsert_org_unit", "Create or change an org unit", "directory",
          "org:write", request=c.UpsertOrgUnit, response=c.OrgUnitView),
        r("DELETE", "/org-units/{org_unit_id}", "remove_org_unit", "Remove an org unit", "directory", "org:write",
          request=c.RemoveOrgUnit, response=c.OrgUnitView),
        r("PUT", "/people/{person_id}", "upsert_person", "Create or replace a person's directory record",
          "directory", "org:write", request=c.UpsertPerson, response=c.PersonView, read="compliance.get_person"),
        r("GET", "/people/{person_id}", "get_person", "Read a person's directory record", "directory", "org:read",
          request=c.PersonRef, response=c.PersonView),
        r("GET", "/people", "list_people", "List people (of an org unit's subtree)", "directory", "org:read",
          request=c.ListPeople, response=page_of(schema_of(c.PersonView)), paging=PEOPLE),
        r("GET", "/people/{person_id}/grants", "get_grants", "A subject's role grants", "directory", "org:read",
          request=c.PersonRef, response=c.GrantsView),
        r("PUT", "/people/{person_id}/grants", "set_grants", "Replace a subject's role grants", "directory",
          "org:write", request=c.SetGrants, response=c.GrantsView, rename={"person_id": "subject_id"},
          read="compliance.get_grants"),
        r("POST", "/org/resyncs", "request_org_resync",
          "Make every service's org read model take the directory's snapshot again (administrators)", "directory",
          "org:write", request=c.RequestOrgResync, response=c.OrgResyncView),
        # bulk import
        r("POST", "/imports", "start_import", "Start an import (a dry run that plans and reports every issue)",
          "imports", "org:write", request=c.StartImport, response=c.ImportJobView, creates=True, max_body=UPLOAD),
        r("GET", "/imports/{job_id}", "get_import", "An import job's status and issues", "imports", "org:write",
          request=c.ImportJobRef, response=c.ImportJobView),
        r("POST", "/imports/{job_id}/apply", "apply_import", "Apply a planned import", "imports", "org:write",
          request=c.ImportJobRef, response=c.ImportJobView),
        # the audit log
        r("GET", "/audit/entries", "query_audit", "Query the audit log", "audit", "audit:read",
          request=c.AuditQuery, response=page_of(schema_of(c.AuditEntryView)), paging=AUDIT),
        r("GET", "/audit/export", "export_audit", "Export audit entries as verifiable JSON lines", "audit",
          "audit:read", request=c.AuditQuery, response=c.AuditExport),
        r("POST", "/audit/verifications", "verify_audit", "Verify the hash chain of the audit log", "audit",
          "audit:read", request=c.VerifyAudit, response=c.VerifyReportView),
        # data-subject requests
        # accepted at once (202 + Location), carried out in the background, read back from the Location
        accepted(r("POST", "/privacy/exports", "start_data_export", "Export everything held about a person",
                   "privacy", "privacy:write", request=c.DsrSubject, response=c.DsrView, creates=True, status=202,
                   description=DSR_ACCEPTED)),
        accepted(r("POST", "/privacy/erasures", "request_erasure", "Erase a person's data (what no hold covers)",
                   "privacy", "privacy:write", request=c.DsrSubject, response=c.DsrView, creates=True, status=202,
                   description=DSR_ACCEPTED)),
        r("GET", "/privacy/requests/{request_id}", "get_dsr", "A data-subject request and its export",
          "privacy", "privacy:read", request=c.DsrRef, response=c.DsrExportView),
        r("POST", "/privacy/requests/{request_id}/retry", "retry_dsr", "Retry the parts of a request that failed",
          "privacy", "privacy:write", request=c.DsrRef, response=c.DsrView),
        r("GET", "/privacy/notice", "privacy_notice", "The privacy notice in force", "privacy", AUTHENTICATED,
          response=c.PrivacyNotice, payload=False),
        # legal holds and retention
        r("POST", "/holds", "place_hold", "Place a legal hold", "retention", "compliance:write",
          request=c.PlaceHold, response=c.HoldView, creates=True),
        r("POST", "/holds/{hold_id}/release", "release_hold", "Release a legal hold", "retention",
          "compliance:write", request=c.HoldIdRef, response=c.HoldView),
        r("GET", "/holds", "list_holds", "Legal holds", "retention", "compliance:read",
          response=page_of(schema_of(c.HoldView)), paging=GATEWAY, payload=False),
        r("POST", "/retention/sweeps", "run_retention_sweep", "Run today's retention sweep (once a day)",
          "retention", "compliance:write", response=c.SweepView, payload=False),
        # appeals
        r("POST", "/appeals", "submit_appeal", "Appeal a rating or a goal result", "appeals", "appeals:write",
          request=c.SubmitAppeal, response=c.AppealView, creates=True),
        r("GET", "/appeals", "list_appeals", "Appeals the caller may see", "appeals", "appeals:read",
          request=c.ListAppeals, response=page_of(schema_of(c.AppealView)), paging=APPEALS),
        r("GET", "/appeals/{appeal_id}", "get_appeal", "Read an appeal", "appeals", "appeals:read",
          request=c.AppealRef, response=c.AppealView),
        r("POST", "/appeals/{appeal_id}/review", "start_appeal_review", "Start reviewing an appeal (HR)",
          "appeals", "appeals:write", request=c.AppealRef, response=c.AppealView),
        r("POST", "/appeals/{appeal_id}/decision", "decide_appeal", "Decide an appeal (HR)", "appeals",
          "appeals:write", request=c.DecideAppeal, response=c.AppealView),
        r("POST", "/appeals/{appeal_id}/withdraw", "withdraw_appeal", "Withdraw one's own appeal", "appeals",
          "appeals:write", request=c.AppealRef, response=c.AppealView),
        # third-party clients
        r("POST", "/clients", "register_client", "Register a third-party client", "clients", "clients:write",
          request=c.RegisterClient, response=c.ClientView, creates=True),
        r("GET", "/clients", "list_clients", "Registered clients", "clients", "clients:read",
          response=page_of(schema_of(c.ClientView)), paging=GATEWAY, payload=False),
        r("GET", "/clients/{client_id}", "get_client", "Read a client", "clients", "clients:read",
          request=c.ClientRef, response=c.ClientView),
        r("PATCH", "/clients/{client_id}", "update_client",
          "Change a client's name, scopes, event patterns or agreement (a renewal)", "clients", "clients:write",
          request=c.UpdateClient, response=c.ClientView, read="compliance.get_client"),
        # not idempotent on purpose: a replay would have to store the key, which is shown once and never kept
        r("POST", "/clients/{client_id}/keys", "issue_api_key", "Issue an API key (shown once)", "clients",
          "clients:write", request=c.IssueApiKey, response=c.ApiKeyIssued, status=201),
        r("POST", "/clients/{client_id}/revoke", "revoke_client", "Revoke a client and all its keys", "clients",
          "clients:write", request=c.ClientRef, response=c.ClientView),
        r("POST", "/api-keys/{key_id}/revoke", "revoke_api_key", "Revoke one API key", "clients", "clients:write",
          request=c.RevokeApiKey, response=c.ClientView),
        # settings
        r("GET", "/compliance/settings", "get_settings", "Compliance settings and the presets available",
          "settings", "compliance:read", response=c.SettingsView, payload=False),
        r("PATCH", "/compliance/settings", "update_settings", "Change compliance settings", "settings",
          "compliance:write", request=c.UpdateSettings, response=c.SettingsView, read="compliance.get_settings"),
        r("POST", "/compliance/settings/preset", "apply_preset", "Apply a compliance preset (PIPL, GDPR)",
          "settings", "compliance:write", request=c.ApplyPreset, response=c.SettingsView),
    ]
