"""The local Kafka's shape: one node or a KRaft cluster, PLAINTEXT or SASL_SSL. Pure
except for writing its own config and TLS material.

    KAFKA_NODES=3        three combined broker+controller nodes (static quorum), RF 3,
                         min.insync.replicas 2
    KAFKA_SECURITY=sasl_ssl
                         every listener speaks SASL_SSL, each with its own principal: clients
                         on the client port (SCRAM-SHA-512, one user per service and `ops`,
                         created at format time, KIP-900), brokers on a listener of their
                         own (SCRAM user `broker`), controllers on theirs (PLAIN user
                         `controller`: KRaft controllers cannot use SCRAM). A CA and a server
                         certificate are generated with trustme. The StandardAuthorizer
                         refuses whatever no ACL allows (shared/messaging/kafka_access.py); `broker`,
                         `controller` and `ops` are its super users.
"""

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Security = Literal["plaintext", "sasl_ssl"]
OPS_USER = "ops"
SERVICE_USERS = ("registration", "awards", "reporting")
SCRAM_USERS = ("broker", OPS_USER, *SERVICE_USERS)
SUPER_USERS = ("controller", "broker", OPS_USER)


@dataclass(frozen=True)
class KafkaLayout:
    nodes: int
    security: Security
    base_port: int
    kafka_dir: Path
    netns: bool = False  # KAFKA_NETNS=1: each node in a network namespace of its own (stack/netns.py)
    # SERVICE_NETNS=1: a second replica of each service on the last node's machine (service_machine).
    service_netns: bool = False

    @classmethod
    def from_env(cls, *, base_port: int, kafka_dir: Path, env: Mapping[str, str] = os.environ) -> "KafkaLayout":
        nodes = int(env.get("KAFKA_NODES") or "1")
        if not 1 <= nodes <= 5:
            raise SystemExit(f"KAFKA_NODES={nodes}: the local stack runs 1 to 5 nodes")
        security = (env.get("KAFKA_SECURITY") or "plaintext").lower()
        if security not in ("plaintext", "sasl_ssl"):
            raise SystemExit(f"KAFKA_SECURITY={security}: choose plaintext or sasl_ssl")
        netns = env.get("KAFKA_NETNS") == "1"
        service_netns = env.get("SERVICE_NETNS") == "1"
        if service_netns and not netns:
            raise SystemExit("SERVICE_NETNS=1 puts services on the nodes' machines: it needs KAFKA_NETNS=1")
        return cls(nodes, security, base_port, kafka_dir, netns, service_netns)  # type: ignore[arg-type]

    # Each shape keeps its own data: a cluster never starts on a single node's log, and a
    # SASL broker's SCRAM users exist only in the storage formatted for it.
    @property
    def root(self) -> Path:
        # "-acl": storage formatted with a SCRAM user per principal (older SASL stacks had one).
        shape = f"sasl_ssl-acl-{self.nodes}n" if self.security == "sasl_ssl" else f"plaintext-{self.nodes}n"
        return self.kafka_dir / (shape + ("-netns" if self.netns else ""))

    @property
    def secrets_dir(self) -> Path:
        return self.root / "secrets"

    @property
    def node_ids(self) -> range:
        return range(1, self.nodes + 1)

    def name(self, node: int) -> str:
        return "kafka" if self.nodes == 1 else f"kafka-{node}"

    def port(self, node: int) -> int:
        return self.base_port + 10 * (node - 1)

    @property
    def subnet(self) -> str:
        """The stack's own /24 when its nodes have namespaces: one per base port."""
        return f"10.77.{(self.base_port // 10) % 250}"

    def host(self, node: int) -> str:
        """Where node `node` listens: loopback, or its own address in its own namespace,
        so a fault can cut one node from one peer (iptables in its namespace)."""
        return f"{self.subnet}.{10 + node}" if self.netns else "127.0.0.1"

    @property
    def bridge_address(self) -> str:
        """The host's own address on the nodes' bridge: where PostgreSQL and the host's
        services are reached from inside a namespace."""
        return f"{self.subnet}.1"

    def service_machine(self, replica: int) -> int | None:
        """The node whose namespace (its "machine") replica `replica` of each service runs
        in: None, the host (beside PostgreSQL), for the first replica and unless
        SERVICE_NETNS=1; the last node's for the second, the one before for the third.
        So a partition can leave a service on the minority side."""
        if not self.service_netns or replica == 1:
            return None
        return self.node_ids[-1 - (replica - 2) % self.nodes]

    def namespace(self, node: int) -> str:
        return f"xj{(self.base_port // 10) % 250}k{node}"

    def controller_port(self, node: int) -> int:
        return self.port(node) + 1

    def broker_port(self, node: int) -> int:
        """Inter-broker traffic's own listener (SASL_SSL stacks only)."""
        return self.port(node) + 2

    def password_file(self, user: str) -> Path:
        return self.secrets_dir / f"kafka-{user}.password"

    def password(self, user: str) -> str:
        return self.password_file(user).read_text().strip()

    def data_dir(self, node: int) -> Path:
        return self.root / f"node-{node}" / "data"

    def properties_file(self, node: int) -> Path:
        return self.root / f"node-{node}" / "server.properties"

    @property
    def replication_factor(self) -> int:
        return min(3, self.nodes)

    @property
    def min_insync_replicas(self) -> int:
        return 2 if self.nodes >= 3 else 1

    @property
    def listener(self) -> str:
        return "SASL_SSL" if self.security == "sasl_ssl" else "PLAINTEXT"

    @property
    def bootstrap(self) -> str:
        return ",".join(f"{self.host(n)}:{self.port(n)}" for n in self.node_ids)

    def owns(self, bootstrap: str) -> bool:
        """True when every address of `bootstrap` is one of this stack's own brokers."""
        own = {f"{h}:{self.port(n)}" for n in self.node_ids for h in ("127.0.0.1", "localhost", self.host(n))}
        given = {a.strip() for a in bootstrap.split(",") if a.strip()}
        return bool(given) and given <= own

    def client_env(self, user: str = OPS_USER) -> dict[str, str]:
        """What a client needs, as stack.env lines: on a SASL stack, as `user` (the operator's
        shell, the simulator and the tests are `ops`; each service is itself)."""
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "KAFKA_SECURITY_PROTOCOL": self.listener,
            "KAFKA_NODES": str(self.nodes),
            "KAFKA_SECURITY": self.security,
            "TOPIC_REPLICATION_FACTOR": str(self.replication_factor),
            "TOPIC_MIN_INSYNC_REPLICAS": str(self.min_insync_replicas),
        }
        if self.security == "sasl_ssl":
            env |= {
                "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                "KAFKA_SASL_USERNAME": user,
                "KAFKA_SASL_PASSWORD_FILE": str(self.password_file(user)),
                "KAFKA_SSL_CAFILE": str(self.secrets_dir / "ca.pem"),
            }
        return env

    def properties(self, node: int) -> str:
        voters = ",".join(f"{n}@{self.host(n)}:{self.controller_port(n)}" for n in self.node_ids)
        rf, isr = self.replication_factor, self.min_insync_replicas
        lines = [
            "# Generated by stack/kafka_nodes.py for the local stack.",
            "process.roles=broker,controller",
            f"node.id={node}",
            f"controller.quorum.voters={voters}",
            "controller.listener.names=CONTROLLER",
            *self._listeners(node),
            f"log.dirs={self.data_dir(node)}",
            "num.partitions=6",
            f"default.replication.factor={rf}",
            f"min.insync.replicas={isr}",
            f"offsets.topic.replication.factor={rf}",
            "offsets.topic.num.partitions=12",
            f"transaction.state.log.replication.factor={rf}",
            f"transaction.state.log.min.isr={isr}",
            f"share.coordinator.state.topic.replication.factor={rf}",
            f"share.coordinator.state.topic.min.isr={isr}",
            # A replica that lost data never becomes leader: acknowledged writes stay.
            "unclean.leader.election.enable=false",
            # A dead broker is fenced (and dropped from the ISR) within seconds, not 30 s.
            "broker.session.timeout.ms=6000",
            "replica.lag.time.max.ms=10000",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=false",
            "message.max.bytes=8388608",
            "log.retention.hours=-1",
            "log.segment.bytes=268435456",
        ]
        if self.security == "sasl_ssl":
            s = self.secrets_dir
            store_password = (s / "keystore-password").read_text().strip()
            scram = "org.apache.kafka.common.security.scram.ScramLoginModule required"
            plain = "org.apache.kafka.common.security.plain.PlainLoginModule required"
            controller = self.password("controller")
            lines += [
                "listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512",
                f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={scram};",
                "listener.name.broker.sasl.enabled.mechanisms=SCRAM-SHA-512",
                "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
                f'listener.name.broker.scram-sha-512.sasl.jaas.config={scram} username="broker" '
                f'password="{self.password("broker")}";',
                "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
                "sasl.mechanism.controller.protocol=PLAIN",
                f'listener.name.controller.plain.sasl.jaas.config={plain} username="controller" '
                f'password="{controller}" user_controller="{controller}";',
                "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                "allow.everyone.if.no.acl.found=false",
                "super.users=" + ";".join(f"User:{u}" for u in SUPER_USERS),
                "ssl.keystore.type=PKCS12",
                f"ssl.keystore.location={s / 'broker.p12'}",
                f"ssl.keystore.password={store_password}",
                f"ssl.key.password={store_password}",
                "ssl.truststore.type=PEM",
                f"ssl.truststore.location={s / 'ca.pem'}",
            ]
        return "\n".join(lines) + "\n"

    def _listeners(self, node: int) -> list[str]:
        host = self.host(node)
        controller = f"CONTROLLER://{host}:{self.controller_port(node)}"
        if self.security == "plaintext":
            client = f"PLAINTEXT://{host}:{self.port(node)}"
            return [
                f"listeners={client},{controller}",
                f"advertised.listeners={client}",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
            ]
        client, broker = f"SASL_SSL://{host}:{self.port(node)}", f"BROKER://{host}:{self.broker_port(node)}"
        return [
            f"listeners={client},{broker},{controller}",
            f"advertised.listeners={client},{broker}",
            "listener.security.protocol.map=CONTROLLER:SASL_SSL,BROKER:SASL_SSL,SASL_SSL:SASL_SSL",
            "inter.broker.listener.name=BROKER",
        ]

    def scram_user_argument(self) -> list[str]:
        if self.security != "sasl_ssl":
            return []
        return [
            arg
            for user in SCRAM_USERS
            for arg in ("--add-scram", f"SCRAM-SHA-512=[name={user},password={self.password(user)}]")
        ]


def ensure_tls_material(layout: KafkaLayout) -> None:
    """A CA, a server certificate for 127.0.0.1/localhost in a PKCS12 keystore, and every
    principal's password, made once per stack."""
    if layout.security != "sasl_ssl" or (layout.secrets_dir / "broker.p12").exists():
        return
    write_tls_material(layout.secrets_dir, sorted({"127.0.0.1", "localhost", *map(layout.host, layout.node_ids)}))
    for user in ("controller", *SCRAM_USERS):
        write_secret(layout.password_file(user), secrets.token_urlsafe(24).encode())


def write_secret(path: Path, content: bytes) -> None:
    path.touch(mode=0o600)
    path.write_bytes(content)
    os.chmod(path, 0o600)


def write_tls_material(directory: Path, hosts: list[str]) -> None:
    """ca.pem, broker.p12 (a certificate for `hosts`, PKCS12) and its keystore-password, in
    `directory` (0700); trustme makes the certificates."""
    import trustme
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, load_pem_private_key
    from cryptography.hazmat.primitives.serialization.pkcs12 import serialize_key_and_certificates
    from cryptography.x509 import load_pem_x509_certificate

    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    ca = trustme.CA(organization_name="xj-incentives")
    cert = ca.issue_cert(*hosts)
    store_password = secrets.token_urlsafe(24)
    key = load_pem_private_key(cert.private_key_pem.bytes(), password=None)
    leaf = load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())
    p12 = serialize_key_and_certificates(
        b"kafka",
        key,  # type: ignore[arg-type]
        leaf,
        None,
        BestAvailableEncryption(store_password.encode()),
    )
    write_secret(directory / "ca.pem", ca.cert_pem.bytes())
    write_secret(directory / "broker.p12", p12)
    write_secret(directory / "keystore-password", store_password.encode())
