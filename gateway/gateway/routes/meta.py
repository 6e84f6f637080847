"""The API's own routes: its index, who the caller is, and the development login."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from gateway.api import AUTHENTICATED, Ctx, Route
from gateway.auth import Authenticator, issue_dev_token
from gateway.demo import DEMO_USERS
from gateway.settings import GatewaySettings

TAG = "meta"


class ApiIndex(Schema):
    name = fields.String(required=True)
    version = fields.String(required=True)
    openapi = fields.String(required=True, metadata={"description": "where the OpenAPI document is"})
    docs = fields.String(required=True, metadata={"description": "where the Swagger UI is"})
    asyncapi = fields.String(required=True, metadata={"description": "where the events' AsyncAPI document is"})


class Me(Schema):
    """The caller as the services see them."""

    subject = fields.String(required=True, metadata={
        "description": "who the caller is: an employee number, or a registered client's id"})
    kind = fields.String(required=True, validate=validate.OneOf(["person", "client", "service", "system"]),
                         metadata={"description": "person (a signed-in user) or client (an API key); service and "
                                                  "system are the suite's own"})
    roles = fields.List(fields.String(), required=True, metadata={
        "description": "the caller's roles (employee, manager, hr, hrbp, auditor, admin) from the directory"})
    scopes = fields.List(fields.String(), required=True)
    org_unit = fields.String(required=True, allow_none=True)


class DevLogin(Schema):
    class Meta:
        unknown = RAISE

    user = fields.String(required=True, validate=validate.OneOf(sorted(DEMO_USERS)),
                         metadata={"description": "which demo user to sign in as"})


class DevToken(Schema):
    access_token = fields.String(required=True, metadata={
        "description": "a signed JWT for the demo user: send it as `Authorization: Bearer <token>`"})
    token_type = fields.String(required=True, validate=validate.OneOf(["Bearer"]),
                               metadata={"description": "always Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds until the token expires"})
    subject = fields.String(required=True, metadata={"description": "the demo user's employee number"})


def index(ctx: Ctx) -> dict:
    return {"name": "jixiao", "version": "v1", "openapi": "/api/openapi.json", "docs": "/api/docs",
            "asyncapi": "/api/asyncapi.yaml"}


def me(ctx: Ctx) -> dict:
    actor = ctx.actor
    return {"subject": actor.subject, "kind": actor.kind, "roles": list(actor.roles), "scopes": list(actor.scopes),
            "org_unit": actor.org_unit}


def routes(settings: GatewaySettings, environment: str, auth: Authenticator) -> list[Route]:
    found = [
        Route("GET", "", index, "The API's index", TAG, None, response=ApiIndex(), operation_id="api_index"),
        Route("GET", "/me", me, "Who the caller is: subject, roles, scopes, org unit", TAG, AUTHENTICATED,
              response=Me(), operation_id="whoami"),
    ]
    if environment == "development" and auth.dev_secret:
        def dev_login(ctx: Ctx) -> dict:
            subject = DEMO_USERS[ctx.body["user"]]
            token = issue_dev_token(auth.dev_secret, settings.jwt_issuer, settings.jwt_audience, subject,
                                    settings.dev_token_minutes)
            return {"access_token": token, "token_type": "Bearer", "expires_in": settings.dev_token_minutes * 60,
                    "subject": subject}

        found.append(Route(
            "POST", "/dev/login", dev_login, "Development only: a token for a demo user", TAG, None,
            body=DevLogin(), response=DevToken(), operation_id="dev_login",
            description="Exists only when environment=development. Users: " + ", ".join(
                f"`{name}` ({subject})" for name, subject in DEMO_USERS.items()) + "."))
    return found
