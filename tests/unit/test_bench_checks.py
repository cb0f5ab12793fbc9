"""The benches print figures only for runs that did their work, timed without tracemalloc."""

from __future__ import annotations

import tracemalloc

import httpx
import pytest

from bench.common import measure
from bench.dataverse_bulk_bench import BenchError, checked
from shared.dataverse.bulk import RecordResult
from shared.dataverse.client import DataverseClient
from shared.dataverse.errors import BadRequestError
from tests.unit.dataverse.test_client_edges import StaticCredential


class Requests:
    """A request counter as the benches use one."""

    count = 0


def test_time_is_taken_without_tracemalloc_and_memory_in_a_second_run() -> None:
    """The timed run is not traced and its requests are the ones counted; the memory run is traced."""
    counter = Requests()
    seen: list[tuple[str, bool]] = []

    def run() -> None:
        counter.count += 3
        seen.append(("timed", tracemalloc.is_tracing()))

    def memory_run() -> None:
        counter.count += 100
        seen.append(("traced", tracemalloc.is_tracing()))

    result = measure("case", 3, counter, run, memory_run=memory_run)
    assert seen == [("timed", False), ("traced", True)]
    assert result.requests == 3
    assert not tracemalloc.is_tracing()


def storing(count: int) -> DataverseClient:
    """A client whose account query finds ``count`` rows."""
    rows = [{"accountnumber": f"A{i}"} for i in range(count)]
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"value": rows}))
    return DataverseClient(httpx.Client(transport=transport), "https://org.example", StaticCredential())


def results(n: int, failed: int | None = None) -> list[RecordResult]:
    error = BadRequestError(400, "0x80044331", "too long")
    return [
        RecordResult(i, {"n": i}, ok=i != failed, via="$batch", error=error if i == failed else None)
        for i in range(n)
    ]


def test_a_run_that_wrote_everything_passes() -> None:
    """Every row ok and every row stored; or only the planted bad row failed and the rest stored."""
    checked("case", storing(3), "A", results(3), n=3, bad=None)
    checked("case", storing(2), "A", results(3, failed=1), n=3, bad=1)


@pytest.mark.parametrize(
    ("stored", "outcome", "bad"),
    [(0, results(3, failed=0), None), (2, results(3), None), (3, results(2), None), (3, results(3), 1)],
    ids=["a row failed", "a row not stored", "a row without a result", "the bad row did not fail"],
)
def test_a_run_that_did_not_do_its_work_prints_no_figure(
    stored: int, outcome: list[RecordResult], bad: int | None
) -> None:
    """Failed rows, missing rows or missing results stop the bench with the reason."""
    with pytest.raises(BenchError):
        checked("case", storing(stored), "A", outcome, n=3, bad=bad)
