"""The local stack without Docker: a real Apache Kafka (KRaft) broker from Maven Central
jars, a real PostgreSQL from Debian's package, and the three services as processes.

    python -m stack.localstack up|down|status|run

`up` is idempotent: it starts only what is not running and records pids under
.local/run/. With KAFKA_BOOTSTRAP_SERVERS or DATABASE_URL set to somewhere else it uses
those instead of starting its own broker or database; addresses that are this stack's
own (a shell that sourced .local/stack.env) still count as local, so a dead broker is
restarted. KAFKA_NODES=3 runs a three-node KRaft cluster, KAFKA_SECURITY=sasl_ssl a
SASL_SSL listener (stack/kafka_nodes.py); SERVICE_REPLICAS=2 runs two of each service;
TRACING=1 a Zipkin server that every service sends its spans to (stack/zipkin.py).
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from stack import netns
from stack.kafka_broker import external_kafka, provision_kafka, start_kafka, stop_kafka
from stack.layout import (
    KAFKA,
    LOCAL,
    LOGS,
    PROMETHEUS_PORT,
    RUN,
    SERVICES,
    STACK_ENV,
    WITH_PROMETHEUS,
    WITH_TRACING,
)
from stack.pg_backup import backup, parse_time, restore
from stack.postgres import external_database, failover, pg_running, rejoin, start_postgres, stop_postgres
from stack.processes import pid_alive, say, stop_pids
from stack.prometheus import start_prometheus
from stack.service_processes import endpoints, migrate, service_processes, start_services
from stack.zipkin import spawn_zipkin, tracing_env, wait_for_zipkin


def start_infra() -> None:
    """PostgreSQL and Kafka start side by side: neither needs the other, and each spends
    most of its start waiting (initdb and recovery; a JVM, the quorum, the brokers' registration)."""
    if KAFKA.netns:  # before PostgreSQL, which may listen on the bridge (SERVICE_NETNS=1)
        netns.ensure_network(KAFKA)
    with ThreadPoolExecutor(max_workers=1) as beside:
        database = beside.submit(start_postgres) if not external_database() else None
        if not external_kafka():
            start_kafka()  # and, as ops, its topics and ACLs
        else:  # someone else's cluster: its topics, as the caller's (ops) principal
            provision_kafka({k: v for k, v in os.environ.items() if k.startswith("KAFKA_")}, grant_services=False)
        if database is not None:
            database.result()  # its failure, raised here


def up() -> None:
    t0 = time.monotonic()
    spawn_zipkin()
    start_infra()
    wait_for_zipkin()
    env = {**endpoints(), **tracing_env()}
    start_services(env)
    start_prometheus()
    if WITH_PROMETHEUS:
        env["PROMETHEUS_URL"] = f"http://127.0.0.1:{PROMETHEUS_PORT}"
    LOCAL.mkdir(exist_ok=True)
    # It holds the migration role's password: the operator's alone (0600).
    STACK_ENV.touch(mode=0o600)
    os.chmod(STACK_ENV, 0o600)
    STACK_ENV.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    say(f"up in {time.monotonic() - t0:.1f}s; endpoints in {STACK_ENV}")
    say(f"  kafka        {env['KAFKA_BOOTSTRAP_SERVERS']} ({env.get('KAFKA_SECURITY_PROTOCOL', 'PLAINTEXT')})")
    for svc in SERVICES:
        say(f"  {svc.name:<12} {env[svc.url_var]}")
    say(f"  dashboard    {env['REPORTING_URL']}/")
    if WITH_PROMETHEUS:
        say(f"  prometheus   {env['PROMETHEUS_URL']}/alerts")
    if WITH_TRACING:
        say(f"  zipkin       {env['TRACE_UI_URL']}/")


def down() -> None:
    stop_pids([*service_processes(), "prometheus", "zipkin"])
    stop_kafka()
    stop_postgres()
    say("down")


def status() -> None:
    kafka = sorted(p.stem for p in RUN.glob("kafka*.pid")) or [KAFKA.name(n) for n in KAFKA.node_ids]
    for name in (service_processes() or [s.name for s in SERVICES]) + kafka:
        pid = pid_alive(name)
        say(f"{name:<14} {'running pid ' + str(pid) if pid else 'stopped'}")
    say(f"{'postgres':<14} {'running' if pg_running() else 'stopped'}")
    for extra, wanted in (("prometheus", WITH_PROMETHEUS), ("zipkin", WITH_TRACING)):
        if wanted:
            pid = pid_alive(extra)
            say(f"{extra:<14} {'running pid ' + str(pid) if pid else 'stopped'}")


def run_foreground() -> None:
    up()
    say("logs follow; Ctrl-C stops the stack")
    tail = subprocess.Popen(["tail", "-n", "0", "-F", *(str(LOGS / f"{s.name}.log") for s in SERVICES)])

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the stack just like Ctrl-C

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        tail.wait()
    except KeyboardInterrupt:
        pass
    finally:
        tail.terminate()
        down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "command", choices=["up", "down", "status", "run", "infra", "failover", "pg-rejoin", "backup", "restore"]
    )
    parser.add_argument("--at", help="restore: the moment to recover to, ISO 8601 with its zone (default: the end)")
    args = parser.parse_args()
    cmd = args.command
    if cmd == "infra":  # broker and database only (used by tests that start services themselves)
        start_infra()
        return
    if cmd in ("failover", "pg-rejoin", "backup", "restore"):
        database(cmd, args.at)
        return
    {"up": up, "down": down, "status": status, "run": run_foreground}[cmd]()


def database(cmd: str, at: str | None) -> None:
    """PostgreSQL's operations (docs/durability.md): promote the standby and fence the old
    primary; rebuild the fenced node as the new standby; a base backup; a restore."""
    if cmd == "failover":
        new = failover()
        say(f"{new.name} is the primary; the services find it through their multi-host DSN")
    elif cmd == "pg-rejoin":
        rejoin()
    elif cmd == "backup":
        backup()
    else:
        moment = parse_time(at) if at else None
        stop_pids(service_processes())
        stop_postgres()
        restore(moment)
        hold_for_the_award_log()
        up()  # the standby cloned again, the services started on the restored books


def hold_for_the_award_log() -> None:
    """Before awards decides on restored books: every policy version the award log records
    as adopted is noted, and decisions wait until the books hold it again (redo lists it)."""
    start_infra()
    migrate("awards")
    env = {**os.environ, **endpoints()}  # the migration role's DSN, the operator's Kafka principal
    done = subprocess.run(
        [sys.executable, "-m", "services.awards", "hold-for-log"], env=env, capture_output=True, text=True, check=True
    )
    say(done.stdout.strip())


if __name__ == "__main__":
    main()
