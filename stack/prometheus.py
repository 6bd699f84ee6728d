"""Debian's Prometheus, scraping every service process of the stack."""

import json
import os
import shutil
from functools import partial
from pathlib import Path

from stack.layout import LOCAL, PROMETHEUS_PORT, ROOT, SERVICES, WITH_PROMETHEUS
from stack.processes import pid_alive, port_open, say, spawn, wait_for
from stack.service_processes import metrics_token, replicas


def start_prometheus() -> None:
    """Debian's Prometheus with the project's config (ops/prometheus) and this stack's
    service ports as its targets (file_sd: targets/*.json beside the config)."""
    if not WITH_PROMETHEUS or (pid_alive("prometheus") and port_open(PROMETHEUS_PORT)):
        return
    ops, home = ROOT / "ops" / "prometheus", LOCAL / "prometheus"
    (home / "targets").mkdir(parents=True, exist_ok=True)
    for name in ("prometheus.yml", "alerts.yml"):
        shutil.copyfile(ops / name, home / name)
    token = home / "metrics-token"  # the config's credentials_file, beside it
    token.unlink(missing_ok=True)
    token.symlink_to(Path(os.environ.get("METRICS_TOKEN_FILE") or metrics_token()))
    targets = [
        {"targets": [f"{r.host}:{r.port}"], "labels": {"service": svc.name, "replica": r.name}}
        for svc in SERVICES
        for r in replicas(svc)
    ]
    (home / "targets" / "local.json").write_text(json.dumps(targets, indent=1))
    say(f"starting Prometheus on 127.0.0.1:{PROMETHEUS_PORT}")
    spawn(
        "prometheus",
        [
            "prometheus",
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
            "--storage.tsdb.retention.time=7d",
        ],
    )
    wait_for("Prometheus", partial(port_open, PROMETHEUS_PORT), 60)
