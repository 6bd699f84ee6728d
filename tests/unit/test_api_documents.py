"""The OpenAPI and AsyncAPI documents each service serves are the ones in
docs/contract/api/ (canonical JSON: sorted keys, so the AsyncAPI's channel order, which
FastStream does not keep stable, does not count). A change to a route, an event or a
description changes that file in the same commit; `UPDATE_API_DOCUMENTS=1` rewrites them."""

import json
import os
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.awards.app import create_app as awards_app
from services.awards.settings import AwardsSettings
from services.registration.app import create_app as registration_app
from services.registration.settings import RegistrationSettings
from services.reporting.app import create_app as reporting_app
from services.reporting.settings import ReportingSettings
from stack.layout import ROOT

KEPT = ROOT / "docs" / "contract" / "api"


def apps() -> dict[str, FastAPI]:
    return {
        "registration": registration_app(RegistrationSettings()),
        "awards": awards_app(AwardsSettings()),
        "reporting": reporting_app(ReportingSettings()),
    }


def canonical(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("document", ["openapi.json", "asyncapi.json"])
@pytest.mark.parametrize("service", ["registration", "awards", "reporting"])
async def test_each_service_serves_the_documents_of_the_contract(
    service: str, document: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The documents name the default broker: whatever the caller's shell has set is not theirs.
    for settings in (RegistrationSettings, AwardsSettings, ReportingSettings):
        for field in settings.model_fields:
            monkeypatch.delenv(field.upper(), raising=False)
    transport = httpx.ASGITransport(app=apps()[service])
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        served = canonical((await client.get(f"/{document}")).json())
    kept = KEPT / f"{service}-{document}"
    if os.environ.get("UPDATE_API_DOCUMENTS") == "1":
        kept.write_text(served, encoding="utf-8")
    assert served == kept.read_text(encoding="utf-8"), f"{kept} differs: UPDATE_API_DOCUMENTS=1 if on purpose"
