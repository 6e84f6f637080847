"""The gateway's own settings: `GATEWAY_<NAME>` environment variables or nameko config keys (any case).

The shared chassis settings (environment, AMQP, database, RPC timeout, workers) stay in `chassis.settings`; these
are only what the HTTP edge adds: token verification, caches, limits.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    jwt_public_keys: str = Field("", description="PEM public keys (RSA or EC P-256), or comma-separated PEM files")
    jwks_file: str = Field("", description="a JWKS document (keys chosen by `kid`)")
    jwks_url: str = Field("", description="the IdP's JWKS URL (https in production), fetched and cached; keys "
                                          "chosen by `kid`")
    jwt_oidc_discovery: bool = Field(False, description="find the JWKS URL at `<issuer>/.well-known/"
                                                        "openid-configuration` (`jwks_uri`) when jwks_url is empty")
    jwks_cache_seconds: float = Field(300.0, gt=0, le=86_400, description="how long a fetched JWKS is used before it "
                                      "is fetched again (a key removed at the IdP is refused after this)")
    jwks_refetch_seconds: float = Field(30.0, ge=0, le=3600, description="at most one extra JWKS fetch per this "
                                        "interval for an unknown `kid` or after a failed fetch")
    jwks_timeout: float = Field(3.0, gt=0, le=30, description="seconds a JWKS or discovery fetch may take")
    jwt_issuer: str = Field("jixiao", description="required `iss` of every token")
    jwt_audience: str = Field("jixiao-api", description="required `aud` of every token")
    jwt_leeway: float = Field(30.0, ge=0, le=300, description="clock skew tolerated on exp/nbf/iat, seconds")
    jwt_dev_secret: str = Field("", description="HS256 secret, honoured only when environment=development; "
                                                "empty: a random one per process")
    bootstrap_admins: str = Field("", description="comma-separated subjects with the admin role before any grant "
                                                 "exists (as compliance's COMPLIANCE_BOOTSTRAP_ADMINS)")
    dev_token_minutes: int = Field(480, ge=1, le=7 * 24 * 60)
    token_cache_size: int = Field(10_000, ge=0, description="verified tokens remembered until they expire")
    actor_cache_seconds: float = Field(5.0, ge=0, description="how long a subject's roles are reused")
    api_key_cache_seconds: float = Field(30.0, ge=0, description="how long a verified API key is reused")
    rate_limit_per_second: float = Field(50.0, gt=0, description="sustained requests per second per client")
    rate_limit_burst: int = Field(200, ge=1, description="requests a client may send at once")
    rate_limit_store: Literal["database", "process"] = Field(
        "database", description="database: one limit shared by every replica (the gateway's database); process: "
                                "each replica its own (the limit multiplies with the replicas)")
    auth_failures_per_minute: float = Field(30.0, gt=0, description="failed authentications per presented "
                                            "credential and per subject (a token's `sub`, a key's client)")
    auth_failures_per_address_per_minute: float = Field(
        600.0, gt=0, description="failed authentications per address: a high ceiling only (behind a corporate "
                                 "proxy a whole company shares one address)")
    jwt_max_lifetime_minutes: float = Field(
        24 * 60, gt=0, le=30 * 24 * 60, description="tokens living longer than this (exp - iat, or exp - now) are "
                                                    "refused")
    max_body_bytes: int = Field(1_048_576, ge=1024)
    idempotency_hours: float = Field(24.0, gt=0, description="how long an Idempotency-Key is remembered")
    section_timeout: float = Field(2.0, gt=0, description="seconds a dashboard section may take")
    wsgi_keepalive_seconds: float = Field(75.0, ge=0, description="idle keep-alive connections are closed after")


def load_gateway_settings(config: Mapping[str, Any] | None = None) -> GatewaySettings:
    """Nameko config keys (`JWT_ISSUER` or `jwt_issuer`) win over `GATEWAY_*` environment variables."""
    values = {}
    for key, value in (config or {}).items():
        name = key.lower()
        if name in GatewaySettings.model_fields and value not in (None, ""):
            values[name] = value
    try:
        return GatewaySettings(**values)
    except ValidationError as exc:
        raise SystemExit(f"invalid gateway settings: {exc}") from None
