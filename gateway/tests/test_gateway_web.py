"""The web app through the gateway's real HTTP server: `/` and the app's routes answer the build's index.html,
hashed assets are cached as immutable, the API and Swagger UI are untouched, and the headers are there."""
from gateway.service import GatewayService

INDEX = b'<!doctype html><html><head><script type="module" src="/assets/index-Zz99.js"></script></head></html>'


def test_the_gateway_serves_the_web_app_beside_the_api(tmp_path, gateway_config, run_services, http):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_bytes(INDEX)
    (dist / "assets" / "index-Zz99.js").write_text("export const app = 1")
    config = {**gateway_config, "WEB_DIST": str(dist), "WEB_OIDC_ISSUER": "https://idp.test.jixiao.dev",
              "WEB_OIDC_CLIENT_ID": "jixiao-web"}
    client = http(run_services({GatewayService: config})["gateway"])

    root = client.get("/")
    assert root.status_code == 200 and root.content == INDEX
    assert root.headers["Content-Type"].startswith("text/html") and root.headers["Cache-Control"] == "no-cache"
    assert "script-src 'self'" in root.headers["Content-Security-Policy"]
    assert "connect-src 'self' https://idp.test.jixiao.dev" in root.headers["Content-Security-Policy"]
    deep = client.get("/team/people/E1003")
    assert deep.status_code == 200 and deep.content == INDEX
    assert client.get("/me", headers={"If-None-Match": root.headers["ETag"]}).status_code == 304
    asset = client.get("/assets/index-Zz99.js")
    assert asset.status_code == 200 and asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert asset.headers["Content-Type"].startswith("text/javascript")
    assert client.get("/assets/index-gone.js").status_code == 404
    head = client.request("HEAD", "/board")
    assert head.status_code == 200 and head.content == b""
    config_doc = client.get("/app-config.json").json()
    assert config_doc == {"environment": "test", "dev_login": False,
                          "oidc": {"issuer": "https://idp.test.jixiao.dev", "client_id": "jixiao-web",
                                   "scope": "openid profile email offline_access"}}

    # the API, its documents and the probes are the gateway's own, as before
    problem = client.get("/api/v1/no/such/route")
    assert problem.status_code == 404 and problem.headers["Content-Type"].startswith("application/problem+json")
    stray = client.get("/api/v2/goals")
    assert stray.status_code == 404 and stray.headers["Content-Type"].startswith("application/problem+json")
    assert client.get("/api/openapi.json").json()["openapi"].startswith("3.1")
    assert client.get("/api/docs").status_code == 200
    assert client.get("/health/live").status_code == 200
    assert client.get("/metrics").status_code == 200
