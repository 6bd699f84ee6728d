"""`make bench-compare BASE=<git revision>`: the same workload through BASE and through this
checkout, back to back on this machine, each with its own bench harness, settings and
migrations; then CPU µs per event by process, the end-to-end rate and the p99 of each,
and their ratios.

The base is checked out in a worktree of its own (.local/compare/<sha>). Shared with it:
the broker's jars, and the virtualenv only when the two lockfiles are the same (else the
worktree gets its own, `uv sync --frozen`). The quick phases only: the two province-scale
histories are left out (OFFICE_ENTERPRISES=0 PROGRESS_ENTERPRISES=0) and so is tracing's
cost (BENCH_TRACING=0). `ORDER=head,base` runs this checkout first.

    BASE=995065b BENCH_EVENTS=50000 python -m bench.compare
"""

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from stack.layout import KAFKA_LIBS, ROOT

PROCESSES = ("registration", "awards", "reporting", "kafka", "postgres", "total")
QUICK = {"OFFICE_ENTERPRISES": "0", "PROGRESS_ENTERPRISES": "0", "BENCH_TRACING": "0"}


@dataclass(frozen=True)
class Run:
    label: str
    cpu_us: dict[str, float]
    events_per_s: float
    p99_ms: float


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def worktree(rev: str) -> Path:
    sha = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    tree = ROOT / ".local" / "compare" / sha[:12]
    if not (tree / ".git").exists():
        shutil.rmtree(tree, ignore_errors=True)
        git("worktree", "prune")
        git("worktree", "add", "--detach", str(tree), sha)
    libs = tree / ".local" / KAFKA_LIBS.name
    if not libs.exists():
        libs.parent.mkdir(parents=True, exist_ok=True)
        libs.symlink_to(KAFKA_LIBS)  # the same jars, resolved once
    return tree


def python_for(tree: Path) -> str:
    """This checkout's interpreter when the lockfiles agree (the base's modules still come
    from its own tree: `python -m` puts the working directory first); else its own venv."""
    if (tree / "uv.lock").read_bytes() == (ROOT / "uv.lock").read_bytes():
        return sys.executable
    subprocess.run(["uv", "sync", "--frozen", "--quiet"], cwd=tree, check=True)
    return str(tree / ".venv" / "bin" / "python")


def bench(label: str, tree: Path, python: str) -> Run:
    print(f"== {label}: python -m bench in {tree}", flush=True)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "DATABASE_"))}, **QUICK}
    out = subprocess.run(
        [python, "-m", "bench"],
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        check=False,
    )
    text = out.stdout
    if out.returncode != 0:
        print(text[-3000:])
        raise SystemExit(f"the bench of {label} failed ({out.returncode})")
    return parse(label, text)


def parse(label: str, text: str) -> Run:
    """The end-to-end phase's CPU line and rate, and the RESULT line's p99."""
    e2e = text.split("== end to end", 1)[1]
    cpu_line = re.search(r"CPU per event \(µs\): (.+)", e2e)
    rate = re.search(r"end-to-end throughput: ([\d,]+) events/s", e2e)
    p99 = re.search(r"RESULT .*p99_ms=(\d+)", text)
    if not (cpu_line and rate and p99):
        raise SystemExit(f"could not read the bench's output of {label}")
    cpu = {k: float(v.replace(",", "")) for k, v in re.findall(r"(\w+) ([\d,]+)", cpu_line.group(1))}
    return Run(label, cpu, float(rate.group(1).replace(",", "")), float(p99.group(1)))


def table(base: Run, head: Run) -> str:
    rows = [f"  {'':<28}{base.label:>14}{head.label:>14}{'head/base':>11}"]
    for k in PROCESSES:
        b, h = base.cpu_us.get(k, float("nan")), head.cpu_us.get(k, float("nan"))
        rows.append(f"  {'CPU µs/event ' + k:<28}{b:>14,.0f}{h:>14,.0f}{h / b:>11.2f}")
    rows.append(
        f"  {'end to end, events/s':<22}{base.events_per_s:>14,.0f}{head.events_per_s:>14,.0f}"
        f"{head.events_per_s / base.events_per_s:>11.2f}"
    )
    rows.append(
        f"  {'p99 ms at the steady rate':<22}{base.p99_ms:>14,.0f}{head.p99_ms:>14,.0f}"
        f"{head.p99_ms / base.p99_ms:>11.2f}"
    )
    return "\n".join(rows)


def main() -> None:
    rev = os.environ.get("BASE") or (sys.argv[1] if len(sys.argv) > 1 else "")
    if not rev:
        raise SystemExit("which revision? BASE=<git revision> make bench-compare")
    tree = worktree(rev)
    base_label, head_label = (
        f"base {git('rev-parse', '--short', 'HEAD', cwd=tree)}",
        f"head {git('rev-parse', '--short', 'HEAD')}",
    )
    runs = {
        "base": lambda: bench(base_label, tree, python_for(tree)),
        "head": lambda: bench(head_label, ROOT, sys.executable),
    }
    order = os.environ.get("ORDER", "base,head").split(",")
    done = {name: runs[name]() for name in order}
    print("== side by side (same machine, same hour, back to back)")
    print(table(done["base"], done["head"]))
    b, h = done["base"], done["head"]
    print(
        f"RESULT base={b.label.split()[1]} head={h.label.split()[1]} "
        f"cpu_ratio={h.cpu_us['total'] / b.cpu_us['total']:.3f} "
        f"eps_ratio={h.events_per_s / b.events_per_s:.3f} p99_ratio={h.p99_ms / b.p99_ms:.3f}"
    )


if __name__ == "__main__":
    main()
