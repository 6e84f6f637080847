"""The IdP's keys from its JWKS URL: a real HTTP server on 127.0.0.1 whose key set the tests rotate, the gateway's
verifier fetching it (caching, a refetch for an unknown kid at a limited rate, a 503 when the IdP is needed and
down, keys removed at the IdP refused after the cache lifespan)."""
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.auth import Authenticator, RemoteKeys, TokenVerifier, load_pem_keys
from gateway.problems import HttpProblem
from gateway.settings import GatewaySettings

ISS, AUD = "https://idp.example", "jixiao-api"


class Idp:
    """A JWKS endpoint (and an OIDC discovery document) on 127.0.0.1 that counts its fetches."""

    def __init__(self):
        self.keys: dict[str, object] = {}  # kid -> private key; the endpoint publishes their public halves
        self.fetches = 0
        self.broken = False  # answer garbage instead of a key set
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": idp.url, "jwks_uri": idp.url + "/jwks"}
                elif self.path == "/jwks":
                    idp.fetches += 1
                    body = "not a key set" if idp.broken else {"keys": [jwk(kid, key) for kid, key in
                                                                         list(idp.keys.items())]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.jwks_url = self.url + "/jwks"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        if self.thread is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread = None


def jwk(kid: str, private) -> dict:
    public = private.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        body, alg = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True), "RS256"
    else:
        body, alg = jwt.algorithms.ECAlgorithm.to_jwk(public, as_dict=True), "ES256"
    return {**body, "kid": kid, "use": "sig", "alg": alg}


def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def token(private, kid: str | None, subject: str = "E1") -> str:
    now = int(time.time())
    algorithm = "RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256"
    claims = {"iss": ISS, "aud": AUD, "sub": subject, "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, private, algorithm=algorithm, headers={"kid": kid} if kid else None)


def verifier(url: str, *, lifespan=60.0, refetch=0.0, timeout=1.0, static=(), issuer="") -> TokenVerifier:
    return TokenVerifier(list(static), ISS, AUD, remote=RemoteKeys(url, issuer=issuer, lifespan=lifespan,
                                                                    refetch=refetch, timeout=timeout))


def refused(verify, value: str) -> HttpProblem:
    with pytest.raises(HttpProblem) as caught:
        verify(value)
    return caught.value


@pytest.fixture
def idp():
    server = Idp()
    yield server
    server.stop()


def test_a_key_rotated_in_at_the_idp_is_accepted_after_one_refetch(idp):
    old, new = rsa.generate_private_key(public_exponent=65537, key_size=2048), ec_key()
    idp.keys = {"old": old}
    check = verifier(idp.jwks_url, lifespan=60, refetch=0)
    assert check.verify(token(old, "old")).subject == "E1"
    assert idp.fetches == 1
    assert check.verify(token(old, "old", "E2")).subject == "E2" and idp.fetches == 1  # the set is cached

    idp.keys = {"old": old, "new": new}  # the IdP rotates: tokens signed with the new key arrive
    assert check.verify(token(new, "new")).subject == "E1"
    assert idp.fetches == 2  # its unknown kid made exactly one refetch
    assert check.verify(token(new, "new", "E2")).subject == "E2" and idp.fetches == 2


def test_a_key_removed_at_the_idp_is_refused_after_the_cache_lifespan(idp):
    old, new = ec_key(), ec_key()
    idp.keys = {"old": old, "new": new}
    check = verifier(idp.jwks_url, lifespan=0.4, refetch=0)
    seen = token(old, "old")
    assert check.verify(seen).subject == "E1"

    idp.keys = {"new": new}  # the old key is withdrawn (compromised, rotated out)
    assert check.verify(token(old, "old", "E2")).subject == "E2"  # within the lifespan the cached set is used
    time.sleep(0.5)
    for value in (token(old, "old", "E2"), seen):  # a token verified before is not remembered past the lifespan
        problem = refused(check.verify, value)
        assert problem.status == 401
    assert check.verify(token(new, "new")).subject == "E1"


def test_a_flood_of_unknown_kids_makes_at_most_one_fetch_per_interval(idp):
    signer = ec_key()
    idp.keys = {"k1": signer}
    check = verifier(idp.jwks_url, lifespan=60, refetch=0.3)
    check.verify(token(signer, "k1"))
    assert idp.fetches == 1
    stranger = ec_key()
    assert refused(check.verify, token(stranger, "bogus")).status == 401
    assert idp.fetches == 1  # within the interval after a fetch: no refetch at all
    time.sleep(0.35)
    for _ in range(200):
        assert refused(check.verify, token(stranger, uuid.uuid4().hex)).status == 401
    assert idp.fetches == 2  # one refetch for the first unknown kid, then none within the interval
    assert check.verify(token(signer, "k1", "E2")).subject == "E2"  # the valid users are unaffected


def test_concurrent_unknown_kids_share_one_fetch(idp):
    import eventlet

    signer, rotated = ec_key(), ec_key()
    idp.keys = {"k1": signer}
    check = verifier(idp.jwks_url, lifespan=60, refetch=0.2)
    check.verify(token(signer, "k1"))
    idp.keys = {"k1": signer, "k2": rotated}
    time.sleep(0.25)
    pool = eventlet.GreenPool(20)
    subjects = list(pool.imap(lambda n: check.verify(token(rotated, "k2", f"P{n}")).subject, range(20)))
    assert subjects == [f"P{n}" for n in range(20)]
    assert idp.fetches == 2


def test_an_idp_that_is_down_is_a_503_for_tokens_that_need_it_while_cached_keys_keep_working(idp):
    signer, rotated = ec_key(), ec_key()
    idp.keys = {"k1": signer}
    check = verifier(idp.jwks_url, lifespan=0.3, refetch=0)
    check.verify(token(signer, "k1"))
    idp.stop()

    problem = refused(check.verify, token(rotated, "k2"))  # its key could only come from the IdP
    assert problem.status == 503 and "Retry-After" in problem.headers
    assert check.verify(token(signer, "k1", "E2")).subject == "E2"
    time.sleep(0.4)  # past the lifespan, the IdP still down: the last good set stays in use
    assert check.verify(token(signer, "k1", "E3")).subject == "E3"


def test_an_idp_never_reached_is_a_503_and_a_slow_one_is_given_up_on(idp):
    idp.stop()
    assert refused(verifier(idp.jwks_url).verify, token(ec_key(), "k1")).status == 503

    silent = socket.socket()  # accepts connections (the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        started = time.monotonic()
        check = verifier(f"http://127.0.0.1:{silent.getsockname()[1]}/jwks", timeout=0.3)
        assert refused(check.verify, token(ec_key(), "k1")).status == 503
        assert time.monotonic() - started < 2
    finally:
        silent.close()


def test_an_idp_answering_garbage_is_a_503_not_a_500(idp):
    idp.broken = True
    assert refused(verifier(idp.jwks_url).verify, token(ec_key(), "k1")).status == 503


def test_failed_fetches_are_retried_at_a_limited_rate(idp):
    idp.broken = True
    check = verifier(idp.jwks_url, refetch=30)
    for _ in range(50):
        assert refused(check.verify, token(ec_key(), "k1")).status == 503
    assert idp.fetches == 1


def test_the_jwks_url_is_found_by_oidc_discovery(idp):
    signer = ec_key()
    idp.keys = {"k1": signer}
    check = verifier("", issuer=idp.url)
    assert check.verify(token(signer, "k1")).subject == "E1"
    assert idp.fetches == 1


def test_configured_keys_keep_working_and_need_no_fetch(idp):
    pem_signer = ec_key()
    pem = pem_signer.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    idp.stop()  # the IdP is down: tokens signed with a configured key do not notice
    check = verifier(idp.jwks_url, static=load_pem_keys(pem))
    assert check.verify(token(pem_signer, None)).subject == "E1"
    assert check.verify(token(pem_signer, "anything")).subject == "E1"
    assert refused(check.verify, token(ec_key(), "k9")).status == 503


def test_production_needs_an_https_jwks_url():
    with pytest.raises(ValueError, match="https"):
        Authenticator(GatewaySettings(jwks_url="http://idp.example/jwks"), "production")
    with pytest.raises(ValueError, match="https"):
        Authenticator(GatewaySettings(jwt_issuer="http://idp.example", jwt_oidc_discovery=True), "production")
    with pytest.raises(ValueError, match="https"):
        Authenticator(GatewaySettings(jwks_url="file:///etc/passwd"), "test")
    auth = Authenticator(GatewaySettings(jwks_url="https://idp.example/jwks"), "production")  # nothing fetched yet
    assert auth.verifier.remote is not None and auth.verifier.remote.lifespan == 300
