"""Through the real gateway: people's tokens checked against the IdP's JWKS URL (a real HTTP server on 127.0.0.1
that rotates its keys and then goes down). The rules themselves are in unit/test_gateway_jwks_url.py."""
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from chassis.testing.plugin import wait_for
from gateway.service import GatewayService


def _serve_jwks(keys: dict):
    """A JWKS endpoint publishing the public halves of `keys` (kid -> EC private key) as they are at each fetch."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = {"keys": [{**jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid,
                              "use": "sig", "alg": "ES256"} for kid, key in list(keys.items())]}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def _token(keys, private, kid: str, subject: str) -> str:
    now = int(time.time())
    claims = {"iss": keys.issuer, "aud": keys.audience, "sub": subject, "iat": now, "exp": now + 600,
              "jti": uuid.uuid4().hex}
    return jwt.encode(claims, private, algorithm="ES256", headers={"kid": kid})


def test_the_gateway_follows_the_idps_key_rotation_and_answers_503_when_it_is_down(
        gateway_config, run_services, keys, http, publish_org, small_org):
    first, second = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    published = {"2026-11": first}
    idp = _serve_jwks(published)
    try:
        config = {**gateway_config, "JWT_PUBLIC_KEYS": "", "JWKS_REFETCH_SECONDS": 0,
                  "JWKS_URL": f"http://127.0.0.1:{idp.server_address[1]}/jwks"}
        client = http(run_services({GatewayService: config})["gateway"])
        publish_org(*small_org)
        me = wait_for(lambda: (r := client.as_(_token(keys, first, "2026-11", "E1")).get("/api/v1/me"))
                      .status_code == 200 and r.json(), message="the read model knows E1")
        assert me["subject"] == "E1"
        # the static test keys are not configured: a token signed with them has no key
        assert client.as_(keys.token("E1")).get("/api/v1/me").status_code == 401

        published["2026-12"] = second  # the IdP rotates in December's key
        assert client.as_(_token(keys, second, "2026-12", "E2")).get("/api/v1/me").json()["subject"] == "E2"

        idp.shutdown()
        idp.server_close()
        idp = None
        down = client.as_(_token(keys, second, "2027-01", "E1")).get("/api/v1/me")  # its key needs the IdP
        assert down.status_code == 503, down.text
        assert down.headers["Content-Type"].startswith("application/problem+json") and "Retry-After" in down.headers
        assert client.as_(_token(keys, first, "2026-11", "M1")).get("/api/v1/me").json()["subject"] == "M1"
    finally:
        if idp is not None:
            idp.shutdown()
            idp.server_close()
