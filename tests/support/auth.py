"""Sign-in for tests: an RSA key minted here, its JWKS written where the test stack's
awards reads AUTH_JWKS_FILE, and RS256 tokens for named people with roles."""

import json
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.contract.events import INTAKE_MODELS
from shared.web.dev_sign_in import jwks_of, mint, new_key
from tests.support.stack import AUTH_AUDIENCE as AUDIENCE
from tests.support.stack import AUTH_ISSUER as ISSUER
from tests.support.stack import TEST_STACK

JWKS_FILE = TEST_STACK / "jwks.json"
DEV_SIGN_IN_KEY_FILE = TEST_STACK / "dev-signing-key.pem"  # the workspace's sign-in form signs with KEY
SENDERS_FILE = TEST_STACK / "senders.json"
# The test stack's senders: "tests" (every factory's source) may send anything; an
# incubator's sender only admissions and graduations of its own incubator.
INCUBATOR_SENDER, OWN_INCUBATOR = "incubator-inc-a", "INC-SENDER-A"
# A sender of its own for a test that tells its results apart from everyone else's.
RESULTS_SENDER = f"sender-{uuid.uuid4().hex[:8]}"
SENDERS = {
    "tests": {"event_types": sorted(INTAKE_MODELS)},
    RESULTS_SENDER: {"event_types": sorted(INTAKE_MODELS)},
    INCUBATOR_SENDER: {"event_types": ["EnterpriseAdmitted", "EnterpriseGraduated"], "carriers": [OWN_INCUBATOR]},
}
KEY = new_key()
KID = f"test-{uuid.uuid4().hex[:8]}"


def jwks(kid: str = KID, key: rsa.RSAPrivateKey = KEY) -> dict[str, Any]:
    return jwks_of(key, kid)


def write_jwks(path: Path = JWKS_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jwks()))
    key_file = path.parent / DEV_SIGN_IN_KEY_FILE.name  # beside it, for the development sign-in form
    key_file.touch(mode=0o600)
    key_file.write_bytes(
        KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def write_senders(path: Path = SENDERS_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"senders": SENDERS}))


def sign_in_env(stack: str) -> dict[str, str]:
    """What a stack of its own needs to accept the tokens minted here: the JWKS and the
    sender registry, written for that stack alone. Each pytest-xdist worker mints its own
    key, so one worker's stack never reads the key of another's."""
    directory = TEST_STACK.parent / "test-sign-in" / stack
    jwks_file, senders_file = directory / JWKS_FILE.name, directory / SENDERS_FILE.name
    write_jwks(jwks_file)
    write_senders(senders_file)
    return {
        "AUTH_JWKS_FILE": str(jwks_file),
        "AUTH_ISSUER": ISSUER,
        "AUTH_AUDIENCE": AUDIENCE,
        "SENDER_AUTHORITY_FILE": str(senders_file),
    }


def sender(name: str = "tests") -> dict[str, str]:
    """The headers of a signed-in sender: role `sender`, sender claim `name`."""
    return bearer(f"svc-{name}", "sender", sender=name)


def token(subject: str, *roles: str, key: rsa.RSAPrivateKey = KEY, kid: str = KID, **claims: Any) -> str:
    return mint(key, kid, subject, list(roles), issuer=ISSUER, audience=AUDIENCE, ttl_s=3600, **claims)


def bearer(subject: str, *roles: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(subject, *roles, **claims)}"}


# A reader's headers: payment data, records and exports are closed to anyone else.
READER = bearer("rita", "reader")
