"""Who may do what on Kafka, as data. Pure: ops/kafka_admin.py applies it.

Every service is a principal of its own that reads its inputs in its own consumer group
and writes its outputs (shared/contract/topics.py lists both) — nothing else: no principal but ops
creates, alters or deletes a topic, and none may touch another's consumer group. A sender
writes only its own intake topic and reads only its own results; a reader reads the
progress topic. With the authorizer's `allow.everyone.if.no.acl.found=false`, what is
not granted here is refused.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from shared.contract import topics


class Resource(StrEnum):
    TOPIC = "topic"
    GROUP = "group"


class Pattern(StrEnum):
    LITERAL = "literal"
    PREFIXED = "prefixed"


class Operation(StrEnum):
    READ = "read"
    WRITE = "write"
    DESCRIBE = "describe"


@dataclass(frozen=True, slots=True)
class Grant:
    """ALLOW `operations` on one resource (or every resource starting with `name`)."""

    resource: Resource
    name: str
    operations: frozenset[Operation]
    pattern: Pattern = Pattern.LITERAL


READS: Final = frozenset({Operation.READ, Operation.DESCRIBE})
WRITES: Final = frozenset({Operation.WRITE, Operation.DESCRIBE})

# The administrator's principal (a super user): creates topics, grants ACLs, manages SCRAM
# users, runs redrive and rebuild. The brokers and controllers are super users of their own.
OPS: Final = "ops"
SERVICES: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "registration": (topics.REGISTRATION_INPUTS, topics.REGISTRATION_OUTPUTS),
    "awards": (topics.AWARDS_INPUTS, topics.AWARDS_OUTPUTS),
    "reporting": (topics.REPORTING_INPUTS, topics.REPORTING_OUTPUTS),
}


class Kind(StrEnum):
    SENDER = "sender"
    READER = "reader"


def service_grants(service: str) -> list[Grant]:
    inputs, outputs = SERVICES[service]
    grants = [Grant(Resource.TOPIC, t, READS) for t in inputs]
    grants += [Grant(Resource.TOPIC, t, WRITES) for t in outputs]
    grants.append(Grant(Resource.GROUP, service, frozenset({Operation.READ, Operation.DESCRIBE})))
    if service == "registration":  # every sender's intake in, every sender's results out
        grants.append(Grant(Resource.TOPIC, topics.SENDER_INTAKE_PREFIX, READS, Pattern.PREFIXED))
        grants.append(Grant(Resource.TOPIC, topics.SENDER_RESULTS_PREFIX, WRITES, Pattern.PREFIXED))
    return grants


def check_name(name: str) -> str:
    """A principal's name: lower-case letters, digits and dashes, so no prefix crosses names."""
    if not re.fullmatch(topics.SENDER_NAME, name) or name in (OPS, *SERVICES):
        raise ValueError(
            f"{name!r}: a principal's name is 1-48 of a-z, 0-9 and '-', starting with a letter or digit, "
            f"and not {OPS!r} or a service's"
        )
    return name


def principal_grants(name: str, kind: Kind) -> list[Grant]:
    """A sender writes its own intake topic and reads its own results, in consumer groups
    named `<name>.…`; a reader reads the progress topic the same way."""
    check_name(name)
    own_groups = Grant(Resource.GROUP, f"{name}.", frozenset({Operation.READ, Operation.DESCRIBE}), Pattern.PREFIXED)
    if kind is Kind.SENDER:
        # PREFIXED on `registration.from.<name>.`: the delimiter ends the prefix (see topics.py).
        return [
            Grant(Resource.TOPIC, f"{topics.SENDER_INTAKE_PREFIX}{name}.", WRITES, Pattern.PREFIXED),
            Grant(Resource.TOPIC, f"{topics.SENDER_RESULTS_PREFIX}{name}.", READS, Pattern.PREFIXED),
            own_groups,
        ]
    return [Grant(Resource.TOPIC, topics.PROGRESS, READS), own_groups]
