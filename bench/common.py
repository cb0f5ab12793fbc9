"""Helpers shared by the benchmarks: request counting for Azure SDK clients, timing and a results table."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from azure.core.pipeline.transport import RequestsTransport


class RequestCounter(RequestsTransport):  # type: ignore[misc]  # azure-core ships it untyped
    """An azure-core transport that counts the HTTP requests sent through it (shared by derived clients)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.count = 0

    def send(self, request: Any, **kwargs: Any) -> Any:
        """Count and send one request."""
        self.count += 1
        return super().send(request, **kwargs)


@dataclass(frozen=True)
class Result:
    """One measured run."""

    name: str
    records: int
    seconds: float
    requests: int
    peak_kib: float

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.records / self.seconds if self.seconds else float("inf")

    def figures(self) -> dict[str, float]:
        """The figures of the run, for the one-line JSON summary a bench prints last."""
        return {
            "records": self.records,
            "records_per_s": round(self.rate, 1),
            "calls_per_record": round(self.requests / self.records, 3) if self.records else 0.0,
            "peak_kib": round(self.peak_kib, 1),
        }

    def row(self) -> str:
        """A formatted table row."""
        rate = self.rate
        per_record = self.requests / self.records if self.records else 0.0
        return f"{self.name:<44} {self.records:>7} {rate:>11,.0f} {per_record:>10.3f} {self.peak_kib:>10,.0f}"


HEADER = f"{'case':<44} {'records':>7} {'records/s':>11} {'calls/rec':>10} {'peak KiB':>10}"


class Counting(Protocol):
    """Anything that counts requests in ``count`` (an azure-core transport, an httpx event hook)."""

    count: int


def measure(
    name: str,
    records: int,
    counter: Counting,
    run: Callable[[], object],
    *,
    memory_run: Callable[[], object] | None = None,
) -> Result:
    """Time one run and count its requests; then track peak Python memory in a second, separate run.

    tracemalloc slows every allocation, so it is never on while timing. The memory pass repeats ``run``,
    or runs ``memory_run`` when repeating ``run`` would not do the same work (upserting the same keys again
    updates instead of creating): give it the same work on fresh data.
    """
    before = counter.count
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    requests = counter.count - before
    tracemalloc.start()
    try:
        (memory_run or run)()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Result(name, records, seconds, requests, peak / 1024)
