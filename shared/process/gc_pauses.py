"""Garbage-collector pauses as a metric, and a heap that does not rescan startup objects.

A full (generation 2) collection walks every live object; with a service's startup heap
(code, tables of divisions, pydantic schemas) that is a pause every consumer batch waits
behind. `freeze_startup_heap` moves what exists after startup to the permanent
generation, so later full collections walk only what the service made since, and makes
young collections rarer (see YOUNG_THRESHOLD).
"""

import contextlib
import gc
import time
from collections.abc import Iterator

from prometheus_client import Histogram

GC_PAUSE = Histogram(
    "python_gc_pause_seconds",
    "Stop-the-world garbage collections, by generation",
    ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)
_started: list[float] = []


def _observe(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _started.append(time.perf_counter())
    elif _started:
        GC_PAUSE.labels(str(info["generation"])).observe(time.perf_counter() - _started.pop())


def watch() -> None:
    if _observe not in gc.callbacks:
        gc.callbacks.append(_observe)


# A consumer batch keeps ~10^5 objects alive until it commits. At CPython's default (a
# young collection every 700 allocations) they are scanned again and again, promoted and
# rescanned by the older generations: 15-20, 5-7 and 9-11 µs per event of registration,
# awards and reporting went to collections that freed almost nothing (100,000 events
# end to end, from python_gc_pause_seconds). Every 50,000: 3-4, 2 and 2-3 µs, in
# collections of a few dozen milliseconds each.
YOUNG_THRESHOLD = 50_000


def freeze_startup_heap() -> None:
    """Freeze what startup made, and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 10)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection for a while: a bulk read that builds and drops ~10^5 small
    objects (what-if) spends as long in collections that find nothing as in its work.
    Reference counting still frees all of it (it holds no cycles)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
