"""Sign-in for the local stack: a development signing key, its JWKS, RS256 tokens for named
people and senders, and a development sender registry, so the approval page, the
disbursement API and HTTP intake work after `make up` without an identity provider.
Production points AUTH_JWKS_URL at a real one and SENDER_AUTHORITY_FILE at its registry.

    python -m stack.dev_auth alice approver          # prints a token valid for 8 hours
    python -m stack.dev_auth bob treasurer approver
    python -m stack.dev_auth dev sender              # HTTP intake as the development sender "dev"
"""

import argparse
import json
import os
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.contract.events import INTAKE_MODELS
from shared.web.dev_sign_in import jwks_of, load_key, mint, new_key
from stack.layout import LOCAL

DIR = LOCAL / "auth"
KEY_FILE = DIR / "dev-signing-key.pem"
JWKS_FILE = DIR / "jwks.json"
DEV_ISSUER = "http://127.0.0.1/dev-sign-in"
DEV_AUDIENCE = "xj-awards"
DEV_KID = "dev-1"
SENDERS_FILE = DIR / "senders.json"
DEV_SENDER = "dev"  # the development stack's sender: every event type, every carrier


def dev_key() -> rsa.RSAPrivateKey:
    """The stack's signing key, made on first use and kept under .local/auth (0600)."""
    if not KEY_FILE.exists():
        DIR.mkdir(parents=True, exist_ok=True)
        pem = new_key().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        KEY_FILE.touch(mode=0o600)
        KEY_FILE.write_bytes(pem)
    return load_key(KEY_FILE)


def dev_token(subject: str, roles: list[str], key: rsa.RSAPrivateKey) -> str:
    """A development sign-in token (8 hours); a sender's names the sender it acts for: the subject."""
    claims: dict[str, Any] = {"sender": subject} if "sender" in roles else {}
    return mint(key, DEV_KID, subject, roles, issuer=DEV_ISSUER, audience=DEV_AUDIENCE, **claims)


def service_env() -> dict[str, str]:
    """AUTH_* and SENDER_AUTHORITY_FILE for the services: the caller's own when set, else the
    development key's JWKS and a registry in which the sender "dev" may send anything."""
    senders = os.environ.get("SENDER_AUTHORITY_FILE") or str(SENDERS_FILE)
    if not os.environ.get("SENDER_AUTHORITY_FILE") and not SENDERS_FILE.exists():  # kafka-principal adds to it
        SENDERS_FILE.parent.mkdir(parents=True, exist_ok=True)
        SENDERS_FILE.write_text(json.dumps({"senders": {DEV_SENDER: {"event_types": sorted(INTAKE_MODELS)}}}))
    if os.environ.get("AUTH_JWKS_FILE") or os.environ.get("AUTH_JWKS_URL"):
        own = {k: v for k, v in os.environ.items() if k.startswith(("AUTH_", "DEV_SIGN_IN_"))}
        return {**own, "SENDER_AUTHORITY_FILE": senders}
    JWKS_FILE.parent.mkdir(parents=True, exist_ok=True)
    JWKS_FILE.write_text(json.dumps(jwks_of(dev_key(), DEV_KID)))
    return {
        "AUTH_JWKS_FILE": str(JWKS_FILE),
        "AUTH_ISSUER": DEV_ISSUER,
        "AUTH_AUDIENCE": DEV_AUDIENCE,
        "SENDER_AUTHORITY_FILE": senders,
        # The workspace's sign-in form (awards, loopback only): shared/web/dev_sign_in.py.
        "DEV_SIGN_IN_KEY_FILE": str(KEY_FILE),
        "DEV_SIGN_IN_KID": DEV_KID,
        "DEV_SIGN_IN_LOCAL_STACK": "true",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("subject", help="who: the token's sub")
    parser.add_argument("roles", nargs="+", choices=["approver", "treasurer", "reader", "sender"])
    args = parser.parse_args()
    print(dev_token(args.subject, args.roles, dev_key()))


if __name__ == "__main__":
    main()
