"""The web app for people at `/`: the single-page app built into web/dist (`make web`), served by the gateway.

- hashed build output (`/assets/<name>-<hash>.<ext>`) is cached for a year as immutable; everything else, above
  all `index.html`, is `no-cache` with an ETag, so a new build is picked up at the next visit;
- any other GET path without a file extension is a route of the app: it answers `index.html` (history mode);
- paths of the API and the operations endpoints never fall through to the app: an unknown one stays a problem
  document, as before the app existed;
- every answer carries a strict Content-Security-Policy (scripts and styles only from the gateway itself; the
  only other origin is the identity provider's, for the OIDC token exchange) and the usual hardening headers;
- `/app-config.json` tells the app how to sign in: the development login (environment=development) and/or
  OpenID Connect (issuer and client id from `WEB_OIDC_ISSUER` / `WEB_OIDC_CLIENT_ID` or the nameko config).

The gateway takes it as a mixin: `class GatewayService(WebApp, Service)`.
"""
from __future__ import annotations

import hashlib
import json
import mimetypes
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nameko.extensions import DependencyProvider
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from werkzeug.wrappers import Response

from chassis.runtime import settings_of
from gateway.api import problem_response, request_id_of
from gateway.problems import HttpProblem
from gateway.server import EdgeProbe

DEFAULT_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
RESERVED = ("api", "health", "metrics")  # served by the gateway's own routes, never by the app
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".html": "text/html",
         ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon",
         ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf", ".txt": "text/plain",
         ".webmanifest": "application/manifest+json", ".map": "application/json"}
TEXT = ("text/", "application/json", "application/manifest+json", "image/svg+xml")


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore")

    dist: str = Field("", description="the built app (default: web/dist of the source tree)")
    oidc_issuer: str = Field("", description="the identity provider's issuer URL (production sign-in)")
    oidc_client_id: str = Field("", description="the app's client id at the identity provider")
    oidc_scope: str = Field("openid profile email offline_access", description="scopes the app asks for")


def load_web_settings(config: Mapping[str, Any] | None = None) -> WebSettings:
    """Nameko config keys `WEB_DIST`, `WEB_OIDC_ISSUER`... win over the environment."""
    values = {}
    for key, value in (config or {}).items():
        name = key.lower()
        if name.startswith("web_") and name[4:] in WebSettings.model_fields and value not in (None, ""):
            values[name[4:]] = value
    return WebSettings(**values)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def content_security_policy(issuer: str = "") -> str:
    connect = " ".join(filter(None, ["'self'", origin_of(issuer)]))
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        f"connect-src {connect}",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ])


@dataclass(frozen=True)
class Asset:
    body: bytes
    media: str
    etag: str


class Site:
    """The built app on disk, read lazily and re-read when a file changes (a rebuild while the gateway runs)."""

    def __init__(self, dist: Path, app_config: dict[str, Any], csp: str):
        self.dist = dist.resolve()
        self.app_config = json.dumps(app_config, sort_keys=True).encode()
        self.headers = {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
                        "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
                        "Cross-Origin-Opener-Policy": "same-origin",
                        "Permissions-Policy": "camera=(), microphone=(), geolocation=()"}
        self._cache: dict[Path, tuple[tuple[int, int], Asset]] = {}

    def file(self, relative: str) -> Path | None:
        """The file under dist that `relative` names, never anything outside it."""
        if "\x00" in relative or "\\" in relative:
            return None
        path = (self.dist / relative).resolve()
        if path != self.dist and self.dist not in path.parents:
            return None
        return path if path.is_file() else None

    def read(self, path: Path) -> Asset:
        stat = path.stat()
        key = (stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        body = path.read_bytes()
        media = TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if media.startswith(TEXT):
            media += "; charset=utf-8"
        asset = Asset(body, media, '"' + hashlib.sha256(body).hexdigest()[:24] + '"')
        self._cache[path] = (key, asset)
        return asset

    def respond(self, request, path: str) -> Response:
        path = path.lstrip("/")
        first = path.split("/", 1)[0]
        if first in RESERVED:  # an unknown API or operations path: the API's 404, not the app
            problem = HttpProblem(404, f"no route {request.method} {request.path}")
            return problem_response(problem, request_id_of(request.headers))
        if path == "app-config.json":
            return self._answer(request, Asset(self.app_config, "application/json", '"' + hashlib.sha256(
                self.app_config).hexdigest()[:24] + '"'), REVALIDATE)
        found = self.file(path) if path else None
        if found is not None and found.name != "index.html":
            immutable = path.startswith("assets/")  # Vite names every file there by its content hash
            return self._answer(request, self.read(found), IMMUTABLE if immutable else REVALIDATE)
        if "." in path.rsplit("/", 1)[-1]:  # a file that is not there: a real 404, not the app
            return self._plain(404, "no such file")
        index = self.file("index.html")
        if index is None:
            return self._plain(503, "the web app is not built: run `make web` (or `make up`, which builds it)")
        return self._answer(request, self.read(index), REVALIDATE)

    def _answer(self, request, asset: Asset, cache: str) -> Response:
        headers = {**self.headers, "Cache-Control": cache, "ETag": asset.etag}
        wanted = request.headers.get("If-None-Match")
        if wanted and asset.etag in [tag.strip().removeprefix("W/") for tag in wanted.split(",")]:
            return Response(status=304, headers=headers)
        return Response(asset.body, headers=headers, content_type=asset.media)

    def _plain(self, status: int, text: str) -> Response:
        return Response(text, status=status, content_type="text/plain; charset=utf-8",
                        headers={**self.headers, "Cache-Control": "no-store"})


class WebSite(DependencyProvider):
    def setup(self):
        settings = load_web_settings(self.container.config)
        environment = settings_of(self.container).environment
        oidc = None
        if settings.oidc_issuer and settings.oidc_client_id:
            oidc = {"issuer": settings.oidc_issuer.rstrip("/"), "client_id": settings.oidc_client_id,
                    "scope": settings.oidc_scope}
        app_config = {"environment": environment, "dev_login": environment == "development", "oidc": oidc}
        dist = Path(settings.dist or os.environ.get("JIXIAO_WEB_DIST") or DEFAULT_DIST)
        self.site = Site(dist, app_config, content_security_policy(settings.oidc_issuer))

    def get_dependency(self, worker_ctx):
        return self.site


class WebPage(EdgeProbe):
    """A GET of the web app: untimed like the probes (static files are not business entrypoints), and not part of
    the API's OpenAPI document."""


web_page = WebPage.decorator


class WebApp:
    """Mixin of the gateway service: the web app at `/` (every GET that no other route takes)."""

    web = WebSite()

    @web_page("GET", "/")
    def web_index(self, request):
        return self.web.respond(request, "")

    @web_page("GET", "/<anypath:path>")
    def web_file(self, request, path):
        return self.web.respond(request, path)
