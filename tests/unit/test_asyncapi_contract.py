"""The AsyncAPI document of each service names the topics of docs/contract/topics.md it reads and writes."""

from faststream.specification import AsyncAPI

from services.awards.app import create_app as awards_app
from services.registration.app import create_app as registration_app
from services.reporting.app import create_app as reporting_app
from shared.contract import topics


def channels(factory: object) -> set[str]:
    app = factory()  # type: ignore[operator]
    spec = AsyncAPI(app.state.runtime.broker).to_specification().to_jsonable()
    return {name.split(":")[0] for name in spec["channels"]}


def test_each_service_documents_its_topics() -> None:
    assert channels(registration_app) == {
        topics.REGISTRATION_INPUT_PATTERN,  # the development intake topic and every sender's
        "enterprise.events.v1",
        "carrier.events.v1",
        "registration.intake.results.v1",
    }
    assert channels(awards_app) == {"enterprise.events.v1", "award.events.v1"}
    assert channels(reporting_app) == {
        "enterprise.events.v1",
        "carrier.events.v1",
        "award.events.v1",
        "reporting.progress.v1",
    }


def test_awards_documents_every_event_it_writes_including_disbursement() -> None:
    spec = AsyncAPI(awards_app().state.runtime.broker).to_specification().to_jsonable()
    assert {name.split(":")[1] for name in spec["channels"] if name.startswith("award.events.v1:")} == {
        "PayoutIssued",
        "PayoutReversed",
        "AwardDeclined",
        "PayoutApproved",
        "PayoutPaid",
        "ClawbackRaised",
        "ClawbackSettled",
        "PayoutCancelled",
        "PayoutRecallRequested",
        "PolicyVersionAdopted",
    }
