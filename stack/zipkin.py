"""A Zipkin server for the stack's traces (TRACING=1): the `exec` jar of
io.zipkin:zipkin-server from Maven Central, pinned in stack/zipkin/pom.xml, keeping spans
in memory. Services send to /api/v2/spans; its UI is /zipkin/."""

import json
import os
import subprocess
import urllib.request

from stack.kafka_broker import JVM_PERFORMANCE_OPTS
from stack.layout import ROOT, WITH_TRACING, ZIPKIN_JAR, ZIPKIN_PORT
from stack.processes import pid_alive, say, spawn, wait_for

NAME = "zipkin"


def ensure_zipkin_jar() -> None:
    if ZIPKIN_JAR.exists():
        return
    say("resolving the Zipkin server from Maven Central (stack/zipkin/pom.xml)")
    subprocess.run(
        ["mvn", "-q", "-B", "dependency:copy", f"-DoutputDirectory={ZIPKIN_JAR.parent}"],
        cwd=ROOT / "stack" / "zipkin",
        check=True,
    )


def answering(port: int = ZIPKIN_PORT) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/services", timeout=2) as r:
            return r.status == 200 and isinstance(json.load(r), list)
    except OSError:
        return False


def spawn_zipkin() -> None:
    """Start the server without waiting for it: its JVM starts while Kafka and PostgreSQL do."""
    if not WITH_TRACING or (pid_alive(NAME) and answering()):
        return
    ensure_zipkin_jar()
    say(f"starting Zipkin on 127.0.0.1:{ZIPKIN_PORT}")
    spawn(
        NAME,
        [
            "java",
            "-Xms512m",
            "-Xmx512m",
            *os.environ.get("KAFKA_JVM_PERFORMANCE_OPTS", JVM_PERFORMANCE_OPTS).split(),
            "-jar",
            str(ZIPKIN_JAR),
        ],
        {
            "STORAGE_TYPE": "mem",
            "MEM_MAX_SPANS": "50000",  # the newest; within the heap at a bench's full sampling
            # Loopback only (Zipkin itself listens on every address): the list entry whole.
            "ARMERIA_PORTS_0_IP": "127.0.0.1",
            "ARMERIA_PORTS_0_PORT": str(ZIPKIN_PORT),
            "ARMERIA_PORTS_0_PROTOCOLS_0": "http",
        },
    )


def wait_for_zipkin() -> None:
    """Before the services start, so no span of theirs is sent to nothing."""
    if WITH_TRACING:
        wait_for("Zipkin", answering, 120)


def tracing_env() -> dict[str, str]:
    """What services and clients need to send and find traces (stack.env)."""
    if not WITH_TRACING:
        return {}
    base = f"http://127.0.0.1:{ZIPKIN_PORT}"
    return {
        "OTEL_EXPORTER_ZIPKIN_ENDPOINT": f"{base}/api/v2/spans",
        "ZIPKIN_URL": base,
        "TRACE_UI_URL": f"{base}/zipkin",
    }
