"""Production sign-in: the web app's OpenID Connect authorization-code flow with PKCE against a real provider
(panva's oidc-provider from the npm registry, not a hand-written mock), the gateway accepting that provider's
RS256 access tokens, a silent refresh when the access token expires, and sign-out through the provider."""
import json
import os
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
WEB = HERE.parents[1] / "web"


def test_sign_in_with_oidc_and_pkce_refresh_and_sign_out(web_stack):
    (HERE / "artefacts").mkdir(exist_ok=True)
    env = {**os.environ, "BASE_URL": web_stack.base, "ISSUER": web_stack.issuer, "ARTEFACTS": str(HERE / "artefacts"),
           "ACCESS_TTL": str(web_stack.access_ttl), "CHROMIUM": os.environ.get("CHROMIUM", "/usr/bin/chromium")}
    run = subprocess.run(["node", str(HERE / "oidc_walk.mjs")], cwd=WEB, capture_output=True, text=True, timeout=120,
                         env=env)
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert run.returncode == 0 and lines and lines[-1]["ok"], (run.stdout[-4000:], run.stderr[-2000:])
    authorize = parse_qs(urlsplit(lines[-1]["authorize"]).query)
    assert authorize["response_type"] == ["code"] and authorize["client_id"] == ["jixiao-web"]
    assert authorize["code_challenge_method"] == ["S256"] and len(authorize["code_challenge"][0]) == 43
    assert authorize["redirect_uri"] == [web_stack.base + "/auth/callback"] and authorize["state"][0]
