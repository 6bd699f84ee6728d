"""Sign-in for tests: an RSA key minted here, its JWKS written where the test stack's
awards reads AUTH_JWKS_FILE, and RS256 tokens for named people with roles."""

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import AUTH_AUDIENCE as AUDIENCE
from tests.conftest import AUTH_ISSUER as ISSUER
from tests.conftest import TEST_STACK

JWKS_FILE = TEST_STACK / "jwks.json"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = f"test-{uuid.uuid4().hex[:8]}"


def jwks(kid: str = KID, key: rsa.RSAPrivateKey = KEY) -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**public, "kid": kid, "use": "sig", "alg": "RS256"}]}


def write_jwks(path: Path = JWKS_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jwks()))


def token(subject: str, *roles: str, key: rsa.RSAPrivateKey = KEY, kid: str = KID, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "name": subject.title(),
        "roles": list(roles),
        "iat": now,
        "exp": now + 600,
        **claims,
    }
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def bearer(subject: str, *roles: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(subject, *roles, **claims)}"}
