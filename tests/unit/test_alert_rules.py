"""The alert rules are unit-tested with promtool (each alert firing and quiet),
the Prometheus config is valid, and every alert links to its runbook section."""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from stack.layout import ROOT

OPS = ROOT / "ops" / "prometheus"
RULES: list[dict[str, Any]] = [
    r for g in yaml.safe_load((OPS / "alerts.yml").read_text())["groups"] for r in g["rules"]
]
TESTS: dict[str, Any] = yaml.safe_load((OPS / "alerts.test.yml").read_text())


def promtool(*args: str, cwd: Path = OPS) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool is installed by stack/system-deps.sh (Debian's prometheus package)"
    return subprocess.run([tool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_promtool_rule_unit_tests_pass() -> None:
    out = promtool("test", "rules", "alerts.test.yml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_prometheus_config_and_rules_are_valid(tmp_path: Path) -> None:
    # Deployed as compose and the local stack deploy it: the metrics token beside the config.
    shutil.copytree(OPS, tmp_path, dirs_exist_ok=True)
    (tmp_path / "metrics-token").write_text("a-token")
    out = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    scrape = yaml.safe_load((OPS / "prometheus.yml").read_text())["scrape_configs"]
    assert [(s["job_name"], s["authorization"]) for s in scrape] == [
        ("xj", {"type": "Bearer", "credentials_file": "metrics-token"})
    ]
    assert f"SUCCESS: {len(RULES)} rules found" in out.stdout


def test_every_alert_is_tested_firing_and_quiet() -> None:
    cases: dict[str, set[bool]] = {}
    for test in TESTS["tests"]:
        for case in test["alert_rule_test"]:
            cases.setdefault(case["alertname"], set()).add(bool(case["exp_alerts"]))
    assert cases == {r["alert"]: {True, False} for r in RULES}


def test_every_alert_has_a_summary_and_a_runbook_section() -> None:
    runbook = (ROOT / "docs" / "operations.md").read_text()
    sections = {m.lower() for m in re.findall(r"^### (\w+)$", runbook, re.M)}
    for rule in RULES:
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{rule['alert'].lower()}"
        assert rule["alert"].lower() in sections, f"docs/operations.md has no '### {rule['alert']}' section"
