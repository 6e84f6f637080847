"""The web app's static serving rules (gateway.web), on a build in a temporary folder: caching by kind of file,
the app's routes falling back to index.html, API paths never served by the app, nothing outside the build ever
read, conditional GETs, and the Content-Security-Policy."""
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.web import IMMUTABLE, REVALIDATE, Site, content_security_policy, load_web_settings, origin_of

INDEX = b'<!doctype html><html><head><script type="module" src="/assets/index-Ab12Cd34.js"></script></head></html>'


@pytest.fixture
def build(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_bytes(INDEX)
    (dist / "assets" / "index-Ab12Cd34.js").write_text("console.log('app')")
    (dist / "assets" / "index-Ef56Gh78.css").write_text("body{margin:0}")
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("outside the build")
    return dist


def site_of(dist: Path, issuer: str = "") -> Site:
    return Site(dist, {"environment": "test", "dev_login": False, "oidc": None}, content_security_policy(issuer))


def get(site: Site, path: str, **headers):
    request = Request(EnvironBuilder(path="/" + path, headers=headers).get_environ())
    return site.respond(request, path)


def test_hashed_assets_are_immutable_and_everything_else_revalidates(build):
    site = site_of(build)
    script = get(site, "assets/index-Ab12Cd34.js")
    assert script.status_code == 200 and script.headers["Cache-Control"] == IMMUTABLE
    assert script.mimetype == "text/javascript" and script.get_data() == b"console.log('app')"
    assert get(site, "assets/index-Ef56Gh78.css").mimetype == "text/css"
    index = get(site, "")
    assert index.status_code == 200 and index.headers["Cache-Control"] == REVALIDATE == "no-cache"
    assert index.mimetype == "text/html" and index.get_data() == INDEX
    favicon = get(site, "favicon.svg")
    assert favicon.headers["Cache-Control"] == "no-cache" and favicon.mimetype == "image/svg+xml"


def test_routes_of_the_app_answer_index_html_but_missing_files_are_404(build):
    site = site_of(build)
    for route in ("me", "team", "hr/calibration", "auth/callback"):
        response = get(site, route)
        assert response.status_code == 200 and response.get_data() == INDEX, route
        assert response.headers["Cache-Control"] == "no-cache"
    assert get(site, "assets/index-gone.js").status_code == 404
    assert get(site, "robots.txt").status_code == 404


def test_paths_of_the_api_and_operations_stay_problem_documents(build):
    site = site_of(build)
    for path in ("api/v2/goals", "api", "health/whatever", "metrics/x"):
        response = get(site, path, **{"X-Request-Id": "trace-9"})
        assert response.status_code == 404 and response.mimetype == "application/problem+json", path
        body = json.loads(response.get_data())
        assert body["status"] == 404 and body["correlation_id"] == "trace-9"


def test_nothing_outside_the_build_is_served(build):
    site = site_of(build)
    for path in ("../secret.txt", "assets/../../secret.txt", "%2e%2e/secret.txt", "assets\\..\\..\\secret.txt",
                 "/etc/passwd", "assets/\x00.js"):
        response = get(site, path)
        assert b"outside the build" not in response.get_data(), path
        assert b"root:" not in response.get_data(), path


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["..", ".", "assets", "index.html", "secret.txt", "", "etc", "passwd", "%2e"]),
                min_size=1, max_size=6))
def test_any_path_resolves_inside_the_build_or_nowhere(tmp_path_factory, parts):
    root = tmp_path_factory.getbasetemp() / "prop"
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True, exist_ok=True)
    (dist / "index.html").write_bytes(INDEX)
    (root / "secret.txt").write_text("outside the build")
    found = site_of(dist).file("/".join(parts))
    assert found is None or dist.resolve() in found.parents


def test_conditional_get_answers_304_with_the_same_etag(build):
    site = site_of(build)
    first = get(site, "me")
    again = get(site, "me", **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == first.headers["ETag"] and again.headers["Cache-Control"] == "no-cache"
    (build / "index.html").write_bytes(INDEX + b"<!-- new build -->")  # a rebuild while the gateway runs
    changed = get(site, "me", **{"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]


def test_every_answer_carries_a_strict_content_security_policy(build):
    site = site_of(build, issuer="https://idp.example.com/realms/jixiao")
    for path in ("", "assets/index-Ab12Cd34.js", "nope.png"):
        headers = get(site, path).headers
        policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
        assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'"
        assert policy["style-src"] == "'self'" and policy["object-src"] == "'none'"
        assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'none'"
        assert policy["connect-src"] == "'self' https://idp.example.com"  # the token exchange with the IdP
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert "unsafe-eval" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_missing_build_says_how_to_make_it(tmp_path):
    response = get(site_of(tmp_path / "nothing"), "me")
    assert response.status_code == 503 and b"make web" in response.get_data()


def test_app_config_tells_how_to_sign_in(build):
    site = Site(build, {"environment": "production", "dev_login": False,
                        "oidc": {"issuer": "https://idp.example.com", "client_id": "jixiao-web", "scope": "openid"}},
                content_security_policy("https://idp.example.com"))
    response = get(site, "app-config.json")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-cache"
    assert json.loads(response.get_data())["oidc"]["client_id"] == "jixiao-web"


def test_settings_and_origins():
    settings = load_web_settings({"WEB_OIDC_ISSUER": "https://idp.example.com/", "web_oidc_client_id": "web",
                                  "OTHER": "x"})
    assert settings.oidc_issuer == "https://idp.example.com/" and settings.oidc_client_id == "web"
    assert origin_of("https://idp.example.com:8443/realms/x") == "https://idp.example.com:8443"
    assert origin_of("javascript:alert(1)") == "" and origin_of("") == ""
