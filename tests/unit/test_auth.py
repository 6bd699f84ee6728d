"""JWT verification (shared/web/auth.py) with keys minted here: who, which roles, and every
way a token is refused."""

import http.server
import json
import threading
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.web.auth import AuthSettings, JwtVerifier, Principal
from tests.support import auth

OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def verifier(tmp_path: Path) -> JwtVerifier:
    auth.write_jwks(tmp_path / "jwks.json")
    return JwtVerifier(AuthSettings(jwks_file=tmp_path / "jwks.json", issuer=auth.ISSUER, audience=auth.AUDIENCE))


def test_a_valid_token_names_the_person_and_their_roles(verifier: JwtVerifier) -> None:
    assert verifier.verify(auth.token("alice", "approver", "reader")) == Principal(
        "alice", "Alice", frozenset({"approver", "reader"})
    )


def test_roles_come_from_the_configured_claim_which_may_be_space_separated(tmp_path: Path) -> None:
    auth.write_jwks(tmp_path / "jwks.json")
    groups = JwtVerifier(
        AuthSettings(jwks_file=tmp_path / "jwks.json", issuer=auth.ISSUER, audience=auth.AUDIENCE, roles_claim="groups")
    )
    assert groups.verify(auth.token("bob", "approver", groups="treasurer reader")).roles == frozenset(
        {"treasurer", "reader"}
    )


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"aud": "someone-else"}, jwt.InvalidAudienceError),
        ({"iss": "https://evil.example"}, jwt.InvalidIssuerError),
        ({"exp": int(time.time()) - 3600}, jwt.ExpiredSignatureError),
    ],
)
def test_wrong_audience_issuer_or_expiry_is_refused(
    verifier: JwtVerifier, claims: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        verifier.verify(auth.token("alice", "approver", **claims))


def test_a_token_signed_by_another_key_under_our_kid_is_refused(verifier: JwtVerifier) -> None:
    with pytest.raises(jwt.InvalidSignatureError):
        verifier.verify(auth.token("mallory", "approver", key=OTHER_KEY))


def test_an_unknown_kid_is_refused_and_a_rotated_key_is_picked_up(verifier: JwtVerifier, tmp_path: Path) -> None:
    rotated = auth.token("alice", "approver", key=OTHER_KEY, kid="rotated")
    with pytest.raises(jwt.InvalidTokenError, match="no key 'rotated'"):
        verifier.verify(rotated)
    keys = auth.jwks()["keys"] + auth.jwks("rotated", OTHER_KEY)["keys"]
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": keys}))
    assert verifier.verify(rotated).subject == "alice"


def test_an_hs256_token_is_refused_whatever_its_secret(verifier: JwtVerifier) -> None:
    forged = jwt.encode(
        {"iss": auth.ISSUER, "aud": auth.AUDIENCE, "sub": "mallory", "iat": 0, "exp": 2**31, "roles": ["approver"]},
        "a-shared-secret-long-enough-for-hs256-0123456789",
        algorithm="HS256",
        headers={"kid": auth.KID},
    )
    with pytest.raises(jwt.InvalidAlgorithmError):
        verifier.verify(forged)


def test_a_token_without_a_subject_is_refused(verifier: JwtVerifier) -> None:
    token = jwt.encode(
        {"iss": auth.ISSUER, "aud": auth.AUDIENCE, "iat": int(time.time()), "exp": int(time.time()) + 60},
        auth.KEY,
        algorithm="RS256",
        headers={"kid": auth.KID},
    )
    with pytest.raises(jwt.MissingRequiredClaimError):
        verifier.verify(token)


def test_a_jwks_without_issuer_and_audience_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="need AUTH_ISSUER and AUTH_AUDIENCE"):
        AuthSettings(jwks_file=tmp_path / "jwks.json")


def test_keys_come_from_a_jwks_url_as_an_identity_provider_serves_them() -> None:
    body = json.dumps(auth.jwks()).encode()

    class Jwks(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/.well-known/jwks.json" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
        verifier = JwtVerifier(AuthSettings(jwks_url=url, issuer=auth.ISSUER, audience=auth.AUDIENCE))
        assert verifier.verify(auth.token("carol", "treasurer")).roles == frozenset({"treasurer"})
        with pytest.raises(jwt.PyJWKClientError):
            verifier.verify(auth.token("mallory", "approver", key=OTHER_KEY, kid="unknown"))
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://sso.example.gov.cn/jwks.json", True),
        ("http://127.0.0.1:8080/jwks.json", True),
        ("http://localhost/jwks.json", True),
        ("http://[::1]:9000/jwks.json", True),
        ("http://sso.example.gov.cn/jwks.json", False),
        ("http://10.0.0.5/jwks.json", False),
        ("ftp://127.0.0.1/jwks.json", False),
        ("https:///jwks.json", False),
    ],
)
def test_a_jwks_url_must_be_https_but_on_loopback(url: str, safe: bool) -> None:
    if safe:
        assert AuthSettings(jwks_url=url, issuer=auth.ISSUER, audience=auth.AUDIENCE).jwks_url == url
    else:
        with pytest.raises(ValueError, match="must be https"):
            AuthSettings(jwks_url=url, issuer=auth.ISSUER, audience=auth.AUDIENCE)


def test_a_key_removed_from_the_jwks_file_is_refused_without_a_restart(verifier: JwtVerifier, tmp_path: Path) -> None:
    token = auth.token("alice", "approver")
    assert verifier.verify(token).subject == "alice"
    (tmp_path / "jwks.json").write_text(json.dumps(auth.jwks("rotated", OTHER_KEY)))  # the old key withdrawn
    with pytest.raises(jwt.InvalidTokenError, match="no key"):
        verifier.verify(token)
    (tmp_path / "jwks.json").write_text('{"keys": [')  # caught half-written: the keys read before stand
    assert verifier.verify(auth.token("bob", "approver", key=OTHER_KEY, kid="rotated")).subject == "bob"
