"""The edge's pure rules: token verification and key selection, scopes, cursors, rate limits, caches, problem
mapping, entity tags, the contract-derived schemas."""
import base64
import decimal
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from chassis.access.org import Grant, Member, OrgIndex, OrgUnit, PersonStatus, Role
from chassis.errors import Forbidden, InternalError, InvalidInput, RpcTimeout, ServiceError, ServiceUnavailable
from contracts import goals as g
from gateway.api import etag_of, nul_at, parse_etags
from gateway.auth import TokenVerifier, credentials, directory_roles, load_jwks, load_pem_keys
from gateway.cache import TtlCache
from gateway.idempotency import fingerprint
from gateway.pagination import GATEWAY, SERVICE, Page, decode_cursor, encode_cursor
from gateway.problems import HttpProblem, from_service_error, marshmallow_errors
from gateway.ratelimit import RateLimiter, retry_after
from gateway.schemas.convert import schema_of
from gateway.schemas.fields import Exact
from gateway.scopes import grants, person_scopes

ISS, AUD = "https://idp.example", "jixiao-api"


def _pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _token(key, algorithm, headers=None, **claims):
    now = int(time.time())
    body = {"iss": ISS, "aud": AUD, "sub": "E1", "iat": now, "exp": now + 60, **claims}
    return jwt.encode(body, key, algorithm=algorithm, headers=headers)


def _hs256(claims: dict, secret: bytes) -> str:
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def test_pem_keys_from_text_env_escapes_and_files(rsa_key, ec_key, tmp_path):
    text = _pem(rsa_key) + _pem(ec_key)
    assert [k.algorithm for k in load_pem_keys(text)] == ["RS256", "ES256"]
    assert len(load_pem_keys(text.replace("\n", "\\n"))) == 2  # one-line env var form
    (tmp_path / "a.pem").write_text(_pem(rsa_key))
    (tmp_path / "b.pem").write_text(_pem(ec_key))
    assert len(load_pem_keys(f"{tmp_path / 'a.pem'}, {tmp_path / 'b.pem'}")) == 2
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValueError, match="2048"):
        load_pem_keys(_pem(weak))
    with pytest.raises(ValueError, match="P-256"):
        load_pem_keys(_pem(ec.generate_private_key(ec.SECP384R1())))


def test_jwks_keys_are_chosen_by_kid(rsa_key, ec_key, tmp_path):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys = [json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key())),
            json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(other.public_key())),
            json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))]
    for key, kid in zip(keys, ("2026-01", "2026-02", "ec-1")):
        key["kid"] = kid
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": keys}))
    verifier = TokenVerifier(load_jwks(str(path)), ISS, AUD)
    assert verifier.verify(_token(other, "RS256", {"kid": "2026-02"})).subject == "E1"
    assert verifier.verify(_token(ec_key, "ES256", {"kid": "ec-1"})).subject == "E1"
    with pytest.raises(HttpProblem) as wrong_kid:  # signed by one key, claiming another
        verifier.verify(_token(rsa_key, "RS256", {"kid": "2026-02"}))
    assert wrong_kid.value.status == 401
    with pytest.raises(HttpProblem):
        verifier.verify(_token(rsa_key, "RS256", {"kid": "unknown"}))


def test_algorithm_confusion_and_none_are_refused(rsa_key):
    public_pem = _pem(rsa_key)
    verifier = TokenVerifier(load_pem_keys(public_pem), ISS, AUD)  # no HS256 secret: not development
    now = int(time.time())
    claims = {"iss": ISS, "aud": AUD, "sub": "E1", "iat": now, "exp": now + 60}
    forged = _hs256(claims, public_pem.encode())  # the public key as HMAC secret: the classic confusion
    for token in (forged, jwt.encode(claims, None, algorithm="none")):
        with pytest.raises(HttpProblem) as refused:
            verifier.verify(token)
        assert refused.value.status == 401 and "not accepted" in refused.value.detail


def test_verified_tokens_are_remembered_until_they_expire(rsa_key):
    verifier = TokenVerifier(load_pem_keys(_pem(rsa_key)), ISS, AUD, leeway=0)
    expires = int(time.time()) + 3  # seconds of margin: a loaded machine may take one between these lines
    token = _token(rsa_key, "RS256", exp=expires)
    assert verifier.verify(token).subject == "E1"
    verifier.keys = []  # a cached token needs no key...
    assert verifier.verify(token).subject == "E1"
    time.sleep(max(0.0, expires - time.time()) + 0.1)  # ...until it expires
    with pytest.raises(HttpProblem):
        verifier.verify(token)


def test_token_scope_claims(rsa_key):
    verifier = TokenVerifier(load_pem_keys(_pem(rsa_key)), ISS, AUD)
    assert verifier.verify(_token(rsa_key, "RS256", scope="goals:read org:read")).scopes == ("goals:read",
                                                                                          "org:read")
    assert verifier.verify(_token(rsa_key, "RS256", scp=["goals:read"])).scopes == ("goals:read",)
    assert verifier.verify(_token(rsa_key, "RS256")).scopes is None
    with pytest.raises(HttpProblem):
        verifier.verify(_token(rsa_key, "RS256", scope=7))


def test_credentials_parsing():
    assert credentials("Bearer abc", None) == ("bearer", "abc")
    assert credentials("ApiKey jx_live_1", None) == ("apikey", "jx_live_1")
    assert credentials(None, " jx_live_1 ") == ("apikey", "jx_live_1")
    for authorization, key in ((None, None), ("Basic x", None), ("Bearer ", None), ("Bearer a", "k")):
        with pytest.raises(HttpProblem) as refused:
            credentials(authorization, key)
        assert refused.value.status == 401 and "WWW-Authenticate" in refused.value.headers


def test_scopes_from_roles_narrowed_by_the_token():
    assert grants(["goals:*"], "goals:write") and grants(["*"], "audit:read") and not grants(["goals:read"],
                                                                                          "goals:write")
    employee = person_scopes(["employee"], None)
    assert "goals:write" in employee and "audit:read" not in employee
    assert person_scopes(["employee"], ["goals:read", "audit:read"]) == ("goals:read",)
    assert person_scopes(["admin"], ["clients:write"]) == ("clients:write",)
    assert person_scopes(["nobody"], None) == ()


def test_directory_roles():
    index = OrgIndex([OrgUnit("U1", "u")],
                     [Member("M", "U1"), Member("E", "U1", "M"), Member("X", "U1", status=PersonStatus.TERMINATED)],
                     [Grant("M", Role.HR, "U1"), Grant("svc-account", Role.AUDITOR)])
    assert directory_roles(index, "E") == ("employee",)
    assert directory_roles(index, "M") == ("employee", "hr", "manager")
    assert directory_roles(index, "svc-account") == ("auditor",)  # an account with a grant, not a person
    assert directory_roles(index, "X") is None and directory_roles(index, "ghost") is None
    assert directory_roles(index, "root", bootstrap_admin=True) == ("admin",)


@given(st.one_of(st.text(max_size=40), st.integers(min_value=0, max_value=10**12)))
def test_service_cursors_survive_the_round_trip(upstream):
    assert decode_cursor(encode_cursor({"s": upstream}), by_service=True) == {"s": upstream}


@given(st.text(max_size=60))
def test_arbitrary_cursors_are_a_400_never_a_crash(text):
    try:
        decode_cursor(text, by_service=False)
    except HttpProblem as problem:
        assert problem.status == 400 and problem.errors[0]["field"] == "cursor"


@given(st.lists(st.integers(), max_size=60), st.integers(min_value=1, max_value=25))
def test_gateway_pages_cover_a_list_exactly_once(items, limit):
    seen, cursor = [], None
    while True:
        page = Page(GATEWAY, limit, cursor).fetch(lambda extra: items)
        assert len(page["items"]) <= limit
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == items


def test_service_pages_pass_limit_and_cursor_under_the_service_names():
    from gateway.pagination import Paging

    calls = []
    page = Page(Paging(items="people", cursor="after"), 2, encode_cursor({"s": "P7"})).fetch(
        lambda extra: calls.append(extra) or {"people": [1, 2], "next_cursor": "P9"})
    assert calls == [{"limit": 2, "after": "P7"}]
    assert page["items"] == [1, 2] and decode_cursor(page["next_cursor"], True) == {"s": "P9"}
    board = Page(SERVICE, 5, None).fetch(lambda extra: {"items": [], "next_cursor": None, "total": {"count": 0}})
    assert board == {"items": [], "next_cursor": None, "total": {"count": 0}}  # other members are kept


def test_rate_limiter_bursts_then_paces():
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.5) and limiter.exhausted("a") == pytest.approx(0.5)
    assert limiter.take("b") == 0.0  # each client has its own bucket
    now[0] += 0.5
    assert limiter.take("a") == 0.0
    assert retry_after(0.01) == "1" and retry_after(2.2) == "3"


def test_ttl_cache_expires_and_stays_bounded():
    now = [0.0]
    cache = TtlCache(2, clock=lambda: now[0])
    cache.put("a", 1, ttl=10)
    cache.put("b", 2, ttl=1)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3, ttl=10)
    assert cache.get("b") is None and len(cache) == 2
    now[0] = 11
    assert cache.get("a") is None and cache.get("c") is None
    cache.put("d", 4, ttl=0)
    assert cache.get("d") is None


def test_service_errors_map_by_status_and_internals_never_leak():
    forbidden = from_service_error(Forbidden("no rule allows goal.read"))
    assert (forbidden.status, forbidden.code, forbidden.detail) == (403, "forbidden", "no rule allows goal.read")
    # past the edge (which answers 400 for what the OpenAPI states), a service's invalid input is a rule the
    # document cannot state: 422, the field still named
    invalid = from_service_error(InvalidInput.field("weights", "must total 100"))
    assert (invalid.status, invalid.code) == (422, "rule-violated")
    assert invalid.errors == [{"field": "weights", "message": "must total 100"}]
    timeout = from_service_error(RpcTimeout("goals.get_goal did not answer within 2s", target="goals.get_goal"))
    assert timeout.status == 504 and timeout.extra["target"] == "goals.get_goal"
    away = from_service_error(ServiceUnavailable("broker unreachable calling goals.get_goal: [Errno 111]"))
    assert away.status == 503 and "Errno" not in away.detail and away.headers == {"Retry-After": "1"}
    bug = from_service_error(InternalError("KeyError: 'x' at line 7", correlation_id="abc"))
    assert bug.status == 500 and "KeyError" not in bug.detail
    odd = ServiceError("teapot")
    odd.status = 418
    assert from_service_error(odd).status == 500


def test_marshmallow_errors_become_field_paths():
    errors = marshmallow_errors({"title": ["Too long."], "key_results": {0: {"target": ["Missing."]}},
                                 "_schema": ["Bad."]}, "body")
    assert {"field": "title", "in": "body", "message": "Too long."} in errors
    assert {"field": "key_results.0.target", "in": "body", "message": "Missing."} in errors
    assert {"field": "body", "in": "body", "message": "Bad."} in errors


def test_entity_tags():
    assert etag_of({"id": "g", "version": 3}) == '"3"'
    assert etag_of({"id": "g"}) == etag_of({"id": "g"}) != etag_of({"id": "h"})
    assert parse_etags('"3", W/"4"') == ['"3"', '"4"'] and parse_etags("*") is None
    with pytest.raises(HttpProblem):
        parse_etags("3")


def test_nul_is_found_anywhere():
    assert nul_at({"a": [{"b": "x\x00"}]}) == "a.0.b"
    assert nul_at({"k\x00": 1}) == "k\x00"
    assert nul_at({"a": ["fine", 1, None, {"b": True}]}) is None


@given(st.binary(max_size=64), st.binary(max_size=64))
def test_fingerprints_tell_requests_apart(a, b):
    assert (fingerprint("POST", "/api/v1/goals", "", a) == fingerprint("POST", "/api/v1/goals", "", b)) == (a == b)
    assert fingerprint("POST", "/api/v1/goals", "", a) != fingerprint("POST", "/api/v1/cycles", "", a)


def test_contract_schemas_validate_like_the_contract():
    schema = schema_of(g.CreateGoal)()
    good = {"cycle_id": "c", "title": "t", "kind": "kpi", "owner": {"id": "E1"}, "weight": "12.5",
            "milestones": [{"on": "2026-06-30", "fraction": 0.5}]}
    assert schema.validate(good) == {}
    g.CreateGoal.model_validate(good)  # the contract agrees
    messages = schema.validate({**good, "weight": 101, "kind": "x", "extra": 1, "title": ""})
    assert set(messages) == {"weight", "kind", "extra", "title"}
    assert set(schema_of(g.UpdateGoal, exclude=("goal_id",), name="UpdateGoalBody")().fields) == \
        set(g.UpdateGoal.model_fields) - {"goal_id"}


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**14) + 1, max_value=10**14 - 1,
                   places=6))
def test_exact_accepts_decimals_within_bounds_as_numbers_and_strings(value):
    field = Exact()
    assert field.deserialize(str(value)) == value
    assert field.deserialize(float(value)) == decimal.Decimal(str(float(value)))


@pytest.mark.parametrize("value", ["1e400", "1E+14", 10**14, "NaN", "Infinity", True, "1,5", " 1", "0x10"])
def test_exact_refuses_what_no_column_holds(value):
    with pytest.raises(ValidationError):
        Exact().deserialize(value)
