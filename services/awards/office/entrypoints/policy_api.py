"""Policy versions over HTTP: read them, draft one (an approver), adopt another person's
draft as previewed (an approver). The preview is `POST /v1/what-if` with `draft_version`."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.awards.audit.entrypoints.actors import actor_of
from services.awards.office.service_layer import policy_office
from services.awards.policy.domain.policy import MAX_AMOUNT_CNY, WINDOW_YEARS, PolicyDocument, PolicyVersion
from shared.contract.enums import RecipientRole, Rule
from shared.web.auth import Approver, Reader
from shared.web.errors import responses
from shared.web.params import pool_of

router = APIRouter(prefix="/v1/policy", tags=["policy"])

Cny = Annotated[int, Field(ge=0, le=MAX_AMOUNT_CNY)]
Years = Annotated[int, Field(ge=WINDOW_YEARS.start, le=WINDOW_YEARS.stop - 1)]
Text = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f]+$")]


class DocumentIn(BaseModel):
    """The legal text the version comes from; leave number and link out when unknown."""

    model_config = ConfigDict(extra="forbid")
    issuer: Text
    title: Text
    issued_on: date
    number: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")] | None = None
    link: Annotated[str, Field(max_length=2000, pattern=r"^https://[^\s\x00-\x1f\x7f]+$")] | None = None


class DraftIn(BaseModel):
    """A version: the region's (650000) gives every amount and both windows; a
    prefecture's gives the amounts it adds (0 or absent: nothing) and no window."""

    model_config = ConfigDict(extra="forbid")
    jurisdiction: str = Field(pattern=r"^65\d{4}$", description="650000 (the region) or a prefecture's code")
    effective_from: date
    amounts_cny: dict[Rule, dict[RecipientRole, Cny]]
    window_years: dict[Rule, Years] = Field(default_factory=dict)
    allows_recovery: bool = Field(
        default=False, description="a decrease reaching back may claw a paid award's difference back"
    )
    document: DocumentIn

    def version(self) -> PolicyVersion:
        d = self.document
        return PolicyVersion(
            version_id=0,  # numbered when stored
            jurisdiction=self.jurisdiction,
            effective_from=self.effective_from,
            amounts={(rule, role): cny for rule, by_role in self.amounts_cny.items() for role, cny in by_role.items()},
            window_years=dict(self.window_years),
            document=PolicyDocument(d.issuer, d.title, d.issued_on, d.number, d.link),
            allows_recovery=self.allows_recovery,
        )


class AdoptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seen_digest: str = Field(pattern=r"^[0-9a-f]{64}$", description="the preview's summary.digest the adopter saw")


VersionId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/versions", responses=responses(401, 403, 503))
async def list_versions(request: Request, _: Reader) -> dict[str, Any]:
    """Every version, drafts included, and how many enterprises adoptions still re-decide."""
    return await policy_office.versions(pool_of(request))


@router.post("/versions", status_code=201, responses=responses(400, 401, 403, 422, 503))
async def draft_version(request: Request, response: Response, body: DraftIn, who: Approver) -> dict[str, Any]:
    """Draft a version (stored, not in force). Refused, naming the field: a code that is not
    the region or a prefecture, a start before the plan's, a start another adopted version
    of the jurisdiction already has, amounts or windows out of range."""
    return await policy_office.draft(pool_of(request), actor_of(request, response, who), body.version())


@router.post("/versions/{version_id}/adoption", responses=responses(400, 401, 403, 404, 409, 422, 503))
async def adopt_version(
    request: Request, response: Response, version_id: VersionId, body: AdoptIn, who: Approver
) -> dict[str, Any]:
    """Adopt another person's draft (403 for its drafter), if what it changes is still what
    the preview showed (409 and nothing adopted otherwise); the enterprises it can affect
    are then re-decided in the background."""
    return await policy_office.adopt(pool_of(request), actor_of(request, response, who), version_id, body.seen_digest)
