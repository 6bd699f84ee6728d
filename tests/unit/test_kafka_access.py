"""Who may do what on Kafka (shared/messaging/kafka_access.py): exact grants, and prefixes that never
reach past their owner."""

import pytest

from shared.contract import topics
from shared.messaging.kafka_access import (
    READS,
    WRITES,
    Grant,
    Kind,
    Operation,
    Pattern,
    Resource,
    check_name,
    principal_grants,
    service_grants,
)


def covers(grant: Grant, resource: Resource, name: str) -> bool:
    """What the broker's authorizer does with one ACL's resource pattern."""
    if grant.resource is not resource:
        return False
    return name.startswith(grant.name) if grant.pattern is Pattern.PREFIXED else name == grant.name


def allowed(grants: list[Grant], resource: Resource, name: str, op: Operation) -> bool:
    return any(covers(g, resource, name) and op in g.operations for g in grants)


def test_awards_reads_facts_and_writes_only_its_own_events() -> None:
    assert service_grants("awards") == [
        Grant(Resource.TOPIC, topics.ENTERPRISE_EVENTS, READS),
        Grant(Resource.TOPIC, topics.AWARD_EVENTS, WRITES),
        Grant(Resource.TOPIC, topics.AWARDS_DLQ, WRITES),
        Grant(Resource.GROUP, "awards", frozenset({Operation.READ, Operation.DESCRIBE})),
    ]


@pytest.mark.parametrize("service", ["registration", "awards", "reporting"])
def test_no_service_may_create_alter_or_delete_anything(service: str) -> None:
    ops = {op for g in service_grants(service) for op in g.operations}
    assert ops == {Operation.READ, Operation.WRITE, Operation.DESCRIBE}


def test_only_registration_writes_the_facts_and_only_awards_writes_payouts() -> None:
    services = ("registration", "awards", "reporting")

    def writers(topic: str) -> list[str]:
        return [s for s in services if allowed(service_grants(s), Resource.TOPIC, topic, Operation.WRITE)]

    written = {t: writers(t) for t in (topics.ENTERPRISE_EVENTS, topics.AWARD_EVENTS, topics.PROGRESS, topics.INTAKE)}
    assert written == {
        topics.ENTERPRISE_EVENTS: ["registration"],
        topics.AWARD_EVENTS: ["awards"],
        topics.PROGRESS: ["reporting"],
        topics.INTAKE: [],
    }


def test_a_senders_prefix_reaches_neither_a_longer_name_nor_a_dlq() -> None:
    acme = principal_grants("acme", Kind.SENDER)
    assert allowed(acme, Resource.TOPIC, topics.sender_intake("acme"), Operation.WRITE)
    assert allowed(acme, Resource.TOPIC, topics.sender_results("acme"), Operation.READ)
    for foreign in (topics.sender_intake("acme2"), topics.sender_intake("acme-b"), topics.INTAKE, topics.INTAKE_DLQ):
        assert not allowed(acme, Resource.TOPIC, foreign, Operation.WRITE), foreign
    assert not allowed(acme, Resource.TOPIC, topics.sender_results("acme2"), Operation.READ)
    assert not allowed(acme, Resource.TOPIC, topics.sender_intake("acme"), Operation.READ)  # write-only intake
    assert not allowed(acme, Resource.GROUP, "awards", Operation.READ)
    assert allowed(acme, Resource.GROUP, "acme.results", Operation.READ)
    assert not allowed(acme, Resource.GROUP, "acme2.results", Operation.READ)


def test_a_reader_reads_progress_and_writes_nothing() -> None:
    board = principal_grants("board", Kind.READER)
    assert allowed(board, Resource.TOPIC, topics.PROGRESS, Operation.READ)
    assert not any(Operation.WRITE in g.operations for g in board)


def test_a_sender_is_known_by_its_topic() -> None:
    assert topics.sender_of(topics.sender_intake("inc-0001")) == "inc-0001"
    assert topics.sender_of(topics.INTAKE) is None
    assert topics.sender_of("registration.from.Acme.v1") is None  # not a name a principal can have


@pytest.mark.parametrize("name", ["", "Acme", "acme.b", "-acme", "ops", "awards", "a" * 49, "acme/b"])
def test_names_that_could_cross_a_prefix_or_take_a_role_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="a principal's name is 1-48 of a-z, 0-9 and '-'"):
        check_name(name)
