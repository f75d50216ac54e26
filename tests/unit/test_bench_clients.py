"""The client benchmark's server and metrics (the benchmark itself runs by hand): what the stand-in
server observes of the real VLM and LLM client paths, counted, never timed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fixtures.bench import load_bench
from skyscript.config import Settings


@pytest.fixture(scope="module")
def bench() -> Any:
    return load_bench("bench_clients")


@pytest.fixture
def batching(bench: Any) -> Iterator[Any]:
    target = bench.start_server("batching", 0.1, 16)
    yield target
    target.server.stop()


@pytest.fixture
def serial(bench: Any) -> Iterator[Any]:
    target = bench.start_server("serial", 0.05, 1)
    yield target
    target.server.stop()


@pytest.mark.parametrize("path", ["vlm", "llm"])
def test_a_fixed_limit_of_four_is_what_the_server_sees(bench: Any, batching: Any, path: str) -> None:
    m = bench.measure(batching, path, 4, False, bench.Workload(16, per_episode=8), Settings())
    assert m.requests == 16 and m.parsed == 16 and len(m.latencies) == 16  # vlm: all 64 keyframes annotated
    assert m.peak_in_flight == 4 and m.limit == 4 and m.decreases == 0
    assert 0 < m.mean_in_flight <= 4 and m.ideal_rps == 160
    held = batching.server.requests
    assert len(held) == 16 and all(len(r.images) == (4 if path == "vlm" else 0) for r in held)


def test_on_a_serial_server_the_adaptive_limit_stays_small(bench: Any, serial: Any) -> None:
    fixed = bench.measure(serial, "llm", 16, False, bench.Workload(12), Settings())
    assert fixed.requests == 12 and fixed.peak_in_flight >= 8  # they pile up (the first answers as the last arrive)
    adaptive = bench.measure(serial, "llm", 16, True, bench.Workload(12), Settings())
    assert adaptive.requests == 12 and adaptive.peak_in_flight <= 3 and adaptive.limit <= 3
    assert adaptive.mean_in_flight < fixed.mean_in_flight


def test_percentiles_runs_and_headline(bench: Any) -> None:
    values = [0.1 * k for k in range(1, 21)]  # 0.1 .. 2.0
    assert bench.percentile(values, 50) == pytest.approx(1.0) and bench.percentile(values, 95) == pytest.approx(1.9)
    assert bench.percentile([0.3], 95) == 0.3
    assert bench.plan([1, 4, 16]) == [(1, False), (4, True), (4, False), (16, True), (16, False)]

    def m(server: str, path: str, conc: int, adaptive: bool, requests: int) -> Any:
        return bench.Measured(server, path, conc, adaptive, requests, 1.0, 1.0, conc, [0.2], 80.0)

    runs = [m("batching", "vlm", 16, True, 50), m("batching", "llm", 16, True, 60), m("batching", "llm", 16, False, 10),
            m("serial", "vlm", 16, True, 5), m("batching", "vlm", 4, True, 1)]
    top = bench.headline(runs, 16)
    assert (top.path, top.rps) == ("vlm", 50.0)
    assert bench.answer_for(bench.Recorded("", {}, [b"a", b"b"], "", "")).startswith('{"frames": [{"image": 1')
