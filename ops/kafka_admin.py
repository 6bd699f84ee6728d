"""Kafka administration, run as the ops principal (its KAFKA_* settings, or the stack.env
that `make up` wrote): the platform's topics, each service's ACLs, and the principals of
senders and readers. Services create no topics and hold no admin rights; this does.

aiokafka's admin client has no ACL or SCRAM calls, so this uses confluent-kafka's
(librdkafka), which has topics, ACLs and SCRAM credentials in one client.

    python -m ops.kafka_admin topics              # the platform's topics (idempotent)
    python -m ops.kafka_admin grant-services      # each service's ACLs (idempotent)
    python -m ops.kafka_admin setup               # both, and each service's SCRAM user from
                                                     # KAFKA_<SERVICE>_PASSWORD (docker compose)
    python -m ops.kafka_admin principal kjt --kind sender --event-types HighTechCertified
    python -m ops.kafka_admin principal inc-a --kind sender \
        --event-types EnterpriseAdmitted,EnterpriseGraduated --carriers INC-0001
    python -m ops.kafka_admin principal board --kind reader
    python -m ops.kafka_admin quota inc-a 2097152 # change a sender's produce quota (bytes/s)
    python -m ops.kafka_admin remove inc-a        # its ACLs, SCRAM credential, quota, registry entry

`principal` prints the client settings as KEY=VALUE lines (the password appears once,
there; running it again rotates it). For a sender it also creates its intake and results
topics (intake refusing, at the broker, a record over intake's cap: MAX_EVENT_BYTES), sets
its produce quota (--produce-bytes-per-second, default SENDER_PRODUCE_BYTES_PER_SECOND or
1 MiB/s; ops/kafka_quotas.py) and writes its authority into the sender registry
(--registry, default SENDER_AUTHORITY_FILE, else the local stack's), which registration
reads again on change.
"""

import argparse
import json
import os
import secrets
import sys
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from ops import kafka_quotas
from shared.contract import topics
from shared.contract.events import INTAKE_MODELS
from shared.messaging import kafka_access
from shared.messaging.kafka import TopicSpec
from shared.messaging.kafka_access import Grant, Kind, Pattern, Resource
from shared.messaging.kafka_settings import KafkaSettings, local_vars
from shared.process.settings import ServiceSettings

TIMEOUT_S = 30
_RESOURCE = {Resource.TOPIC: ResourceType.TOPIC, Resource.GROUP: ResourceType.GROUP}
_PATTERN = {Pattern.LITERAL: ResourcePatternType.LITERAL, Pattern.PREFIXED: ResourcePatternType.PREFIXED}


def settings_of(variables: Mapping[str, str]) -> ServiceSettings:
    """The ops client's Kafka and topic settings from these variables alone."""
    return ServiceSettings.model_validate(
        {k.lower(): v for k, v in variables.items() if k.lower() in ServiceSettings.model_fields}
    )


def admin_client(s: KafkaSettings) -> AdminClient:
    return AdminClient(librdkafka_config(s))


def librdkafka_config(s: KafkaSettings) -> dict[str, Any]:
    """The same connection as `KafkaSettings.client_options`, in librdkafka's words."""
    config: dict[str, Any] = {
        "bootstrap.servers": ",".join(s.bootstrap_list),
        "security.protocol": s.kafka_security_protocol,
    }
    if s.kafka_security_protocol.startswith("SASL_"):
        config |= {
            "sasl.mechanism": s.kafka_sasl_mechanism,
            "sasl.username": s.kafka_sasl_username,
            "sasl.password": s.sasl_password(),
        }
    for key, path in (
        ("ssl.ca.location", s.kafka_ssl_cafile),
        ("ssl.certificate.location", s.kafka_ssl_certfile),
        ("ssl.key.location", s.kafka_ssl_keyfile),
    ):
        if path is not None:
            config[key] = str(path)
    return config


def _wait(futures: Iterable[Future[Any]], *, tolerate: Iterable[int] = ()) -> None:
    allowed = set(tolerate)
    for future in futures:
        try:
            future.result(timeout=TIMEOUT_S)
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if error.code() not in allowed:
                raise


def create_topics(
    admin: AdminClient, names: Iterable[str], spec: TopicSpec, configs: Mapping[str, Mapping[str, str]] | None = None
) -> list[str]:
    """Create the missing ones; existing topics are left as they are. Returns the created.
    `configs`: topic configs beyond topics.CONFIGS, by topic."""
    existing = set(admin.list_topics(timeout=TIMEOUT_S).topics)
    missing = [t for t in names if t not in existing]
    if not missing:
        return []
    isr = {} if spec.min_insync_replicas is None else {"min.insync.replicas": str(spec.min_insync_replicas)}
    extra = configs or {}
    new = [
        NewTopic(
            t, spec.partitions, spec.replication_factor, config={**isr, **topics.CONFIGS.get(t, {}), **extra.get(t, {})}
        )
        for t in missing
    ]
    _wait(admin.create_topics(new, request_timeout=TIMEOUT_S).values(), tolerate=[KafkaError.TOPIC_ALREADY_EXISTS])
    return missing


def set_topic_configs(admin: AdminClient, topic: str, configs: Mapping[str, str]) -> None:
    """Set these configs on an existing topic, leaving its others as they are."""
    entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in configs.items()]
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries)
    _wait(admin.incremental_alter_configs([resource], request_timeout=TIMEOUT_S).values())


def bindings(principal: str, grants: Iterable[Grant]) -> list[AclBinding]:
    return [
        AclBinding(
            _RESOURCE[g.resource],
            g.name,
            _PATTERN[g.pattern],
            f"User:{principal}",
            "*",
            AclOperation[op.name],
            AclPermissionType.ALLOW,
        )
        for g in grants
        for op in sorted(g.operations)
    ]


def grant(admin: AdminClient, principal: str, grants: Iterable[Grant]) -> int:
    acls = bindings(principal, grants)
    _wait(admin.create_acls(acls, request_timeout=TIMEOUT_S).values())
    return len(acls)


def revoke_all(admin: AdminClient, principal: str) -> int:
    # None matches any name and any host (the stubs say str; the client takes None).
    everything = AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, f"User:{principal}", None,  # type: ignore[arg-type]
        AclOperation.ANY, AclPermissionType.ANY,
    )  # fmt: skip
    removed = 0
    for future in admin.delete_acls([everything], request_timeout=TIMEOUT_S).values():
        removed += len(future.result(timeout=TIMEOUT_S))
    return removed


def set_password(admin: AdminClient, user: str, password: str) -> None:
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192)
    upsert = UserScramCredentialUpsertion(user, info, password.encode())
    _wait(admin.alter_user_scram_credentials([upsert], request_timeout=TIMEOUT_S).values())


def delete_password(admin: AdminClient, user: str) -> None:
    deletion = UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)
    _wait(
        admin.alter_user_scram_credentials([deletion], request_timeout=TIMEOUT_S).values(),
        tolerate=[KafkaError.RESOURCE_NOT_FOUND],
    )


def client_lines(s: KafkaSettings, name: str, password: str, kind: Kind) -> list[str]:
    """What the new principal's client needs, as KEY=VALUE lines."""
    lines = [
        f"KAFKA_BOOTSTRAP_SERVERS={s.kafka_bootstrap_servers}",
        f"KAFKA_SECURITY_PROTOCOL={s.kafka_security_protocol}",
        "KAFKA_SASL_MECHANISM=SCRAM-SHA-512",
        f"KAFKA_SASL_USERNAME={name}",
        f"KAFKA_SASL_PASSWORD={password}",
    ]
    if s.kafka_ssl_cafile is not None:
        lines.append(f"KAFKA_SSL_CAFILE={s.kafka_ssl_cafile}")
    if kind is Kind.SENDER:
        lines += [f"INTAKE_TOPIC={topics.sender_intake(name)}", f"RESULTS_TOPIC={topics.sender_results(name)}"]
    else:
        lines.append(f"PROGRESS_TOPIC={topics.PROGRESS}")
    lines.append(f"CONSUMER_GROUP_PREFIX={name}.")
    return lines


def register_sender(registry: Path, name: str, event_types: Sequence[str], carriers: Sequence[str]) -> None:
    """The sender's authority in the registry file, replaced whole (no types: removed); the
    file is swapped atomically, so registration never reads half of it."""
    unknown = sorted(set(event_types) - set(INTAKE_MODELS))
    if unknown:
        raise ValueError(f"unknown event types {unknown}; intake types are {sorted(INTAKE_MODELS)}")
    doc = json.loads(registry.read_text()) if registry.exists() else {"senders": {}}
    if event_types:
        doc["senders"][name] = {"event_types": sorted(event_types)} | (
            {"carriers": sorted(carriers)} if carriers else {}
        )
    else:
        doc["senders"].pop(name, None)
    registry.parent.mkdir(parents=True, exist_ok=True)
    swap = registry.with_suffix(".new")
    swap.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    os.replace(swap, registry)


def add_principal(
    admin: AdminClient, s: ServiceSettings, name: str, kind: Kind, *, quota: int, max_event_bytes: int
) -> list[str]:
    """The SCRAM user (a fresh password; rotation is the same call), its ACLs and, for a
    sender, its two topics (intake capped per record) and its produce quota (bytes/s).
    Returns its client settings."""
    kafka_access.check_name(name)
    if kind is Kind.SENDER:
        intake, capped = topics.sender_intake(name), topics.sender_intake_configs(max_event_bytes)
        create_topics(admin, [intake, topics.sender_results(name)], s.topic_spec, {intake: capped})
        set_topic_configs(admin, intake, capped)  # a sender added before the cap: capped now
        if kafka_quotas.available():
            kafka_quotas.set_produce_quota(s, name, quota)
        else:
            print(
                f"{name}: no kafka-configs here; the brokers' default user quota applies "
                f"(compose: docker compose run --rm kafka-quotas {name} {quota})",
                file=sys.stderr,
            )
    password = secrets.token_urlsafe(32)
    set_password(admin, name, password)
    grant(admin, name, kafka_access.principal_grants(name, kind))
    return client_lines(s, name, password, kind)


def default_registry() -> Path:
    given = os.environ.get("SENDER_AUTHORITY_FILE")
    return Path(given) if given else Path(os.environ.get("STACK_DIR", ".local")) / "auth" / "senders.json"


def _required(env: Mapping[str, str], name: str) -> str:
    if not env.get(name):
        raise ValueError(f"{name} is not set")
    return env[name]


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("topics", help="create the platform's topics")
    sub.add_parser("grant-services", help="grant each service principal its ACLs")
    sub.add_parser("setup", help="topics, the services' SCRAM users (KAFKA_<SERVICE>_PASSWORD) and ACLs")
    p = sub.add_parser("principal", help="add (or rotate) a sender or reader principal")
    p.add_argument("name")
    p.add_argument("--kind", choices=[k.value for k in Kind], required=True)
    p.add_argument("--event-types", default="", help="a sender's event types, comma-separated")
    p.add_argument("--carriers", default="", help="the carriers (incubator ids) a sender's facts may concern")
    p.add_argument(
        "--produce-bytes-per-second",
        type=int,
        default=int(os.environ.get("SENDER_PRODUCE_BYTES_PER_SECOND") or kafka_quotas.DEFAULT_SENDER_BYTES_PER_SECOND),
        help="a sender's produce quota; the broker slows a sender above it",
    )
    q = sub.add_parser("quota", help="change a sender's produce quota (bytes per second)")
    q.add_argument("name")
    q.add_argument("bytes_per_second", type=int)
    r = sub.add_parser("remove", help="remove a principal's ACLs, SCRAM credential, quota and registry entry")
    r.add_argument("name")
    for each in (p, r):
        each.add_argument("--registry", type=Path, default=default_registry())
    return parser


@dataclass(frozen=True)
class _Run:
    """One command's inputs: its arguments, the variables it was run with, the ops client."""

    args: argparse.Namespace
    env: Mapping[str, str]
    settings: ServiceSettings
    admin: AdminClient


def _topics(run: _Run) -> None:
    created = create_topics(run.admin, topics.ALL, run.settings.topic_spec)
    print(f"topics: {len(topics.ALL)} wanted, created {created or 'none'}", file=sys.stderr)


def _services(run: _Run) -> None:
    if run.args.command == "setup":
        create_topics(run.admin, topics.ALL, run.settings.topic_spec)
        for service in kafka_access.SERVICES:
            set_password(run.admin, service, _required(run.env, f"KAFKA_{service.upper()}_PASSWORD"))
    for service in kafka_access.SERVICES:
        n = grant(run.admin, service, kafka_access.service_grants(service))
        print(f"{service}: {n} ACLs", file=sys.stderr)


def _principal(run: _Run) -> None:
    args = run.args
    kind, event_types = Kind(args.kind), _list(args.event_types)
    if kind is Kind.SENDER and not event_types:
        raise ValueError("a sender needs --event-types: what it may send")
    cap = int(run.env.get("MAX_EVENT_BYTES") or topics.DEFAULT_MAX_EVENT_BYTES)
    quota = args.produce_bytes_per_second
    lines = add_principal(run.admin, run.settings, args.name, kind, quota=quota, max_event_bytes=cap)
    if kind is Kind.SENDER:
        register_sender(args.registry, args.name, event_types, _list(args.carriers))
    print("\n".join(lines))


def _quota(run: _Run) -> None:
    name = kafka_access.check_name(run.args.name)
    kafka_quotas.set_produce_quota(run.settings, name, run.args.bytes_per_second)
    print(f"{name}: producer_byte_rate={kafka_quotas.produce_quota(run.settings, name)}", file=sys.stderr)


def _remove(run: _Run) -> None:
    name = kafka_access.check_name(run.args.name)
    removed = revoke_all(run.admin, name)
    delete_password(run.admin, name)
    if kafka_quotas.available():
        kafka_quotas.delete_produce_quota(run.settings, name)
    register_sender(run.args.registry, name, [], [])
    print(f"{name}: {removed} ACLs removed, SCRAM credential deleted", file=sys.stderr)


COMMANDS = {
    "topics": _topics,
    "grant-services": _services,
    "setup": _services,
    "principal": _principal,
    "quota": _quota,
    "remove": _remove,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = local_vars()
    s = settings_of(env)
    try:
        COMMANDS[args.command](_Run(args, env, s, admin_client(s)))
    except (KafkaException, ValueError) as exc:
        print(f"kafka_admin {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
