"""Adaptive concurrency: the limiter's rules on a fake clock, then the client against a serial
server (one answer at a time, like ``transformers serve`` without continuous batching) and a
parallel one (like lmdeploy or vLLM)."""

from __future__ import annotations

import threading

import pytest
from keyinfo_helpers import jpeg_of
from openai_standin import Slow, StandinOpenAI

from skyscript.config import ModelEndpoint
from skyscript.keyinfo.vlm_client import ChatRequest, OpenAIChatClient, VlmError
from skyscript.models.chat import AdaptiveLimiter


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def wave(lim: AdaptiveLimiter, clock: FakeClock, seconds: list[float], tokens: int = 100) -> None:
    """Send len(seconds) requests together; they answer after the given times, in that order."""
    tickets = [lim.acquire() for _ in seconds]
    start = clock.t
    for t, s in sorted(zip(tickets, seconds), key=lambda p: p[1]):
        clock.t = start + s
        lim.release(t, "ok", tokens)  # type: ignore[arg-type]


def test_grows_by_one_to_four_then_doubles_per_full_round_without_queueing() -> None:
    clock = FakeClock()
    lim = AdaptiveLimiter(16, clock=clock)
    assert lim.current == 1
    for expected in (2, 3, 4, 8, 16, 16):
        wave(lim, clock, [1.0] * lim.current)
        assert lim.current == expected
    assert lim.increases == 5 and lim.slow_start
    lone = AdaptiveLimiter(4, initial=2, clock=clock)
    for _ in range(5):  # one request at a time says nothing about two at a time
        wave(lone, clock, [1.0])
    assert lone.current == 2


def test_after_the_first_queueing_it_grows_by_one() -> None:
    clock = FakeClock()
    lim = AdaptiveLimiter(32, initial=8, clock=clock)
    wave(lim, clock, [1.0] * 8)
    assert lim.current == 16
    wave(lim, clock, [1.0] * 12 + [2.0] * 4)  # a server that batches 12: the last four queue
    assert lim.current == 12 and lim.decreases == 1 and not lim.slow_start
    for expected in (13, 14):
        wave(lim, clock, [1.0] * lim.current)
        assert lim.current == expected


def test_a_serial_server_round_does_not_grow() -> None:
    """Two requests sent together to a serial server: the first answers in 1 s as if alone, the
    second in 2 s. Judged per answer the first would grow the limit; judged per round it cannot."""
    clock = FakeClock()
    lim = AdaptiveLimiter(4, initial=2, clock=clock)
    wave(lim, clock, [1.0])  # the baseline: 1 s alone
    wave(lim, clock, [1.0, 2.0])
    assert lim.current == 1 and lim.increases == 0 and lim.decreases == 1
    for _ in range(6):  # and so on: one alone (grow to 2), two together (back to 1)
        wave(lim, clock, [1.0] * lim.current if lim.current == 1 else [1.0, 2.0])
    assert lim.peak_in_flight == 2


def test_rising_latency_holds_the_limit() -> None:
    clock = FakeClock()
    lim = AdaptiveLimiter(4, initial=2, clock=clock)
    wave(lim, clock, [1.0])
    wave(lim, clock, [1.6, 1.6])  # 1.6x: slower, not yet queueing
    assert lim.current == 2 and lim.decreases == 0 and lim.increases == 0


def test_overload_halves_once_per_burst() -> None:
    clock = FakeClock()
    lim = AdaptiveLimiter(8, initial=8, clock=clock)
    tickets = [lim.acquire() for _ in range(8)]
    clock.t += 5.0
    for t in tickets:  # eight timeouts of requests that were all in flight together: one signal
        lim.release(t, "overload")  # type: ignore[arg-type]
    assert lim.current == 4 and lim.decreases == 1
    clock.t += 0.1
    t = lim.acquire()
    clock.t += 1.0
    lim.release(t, "overload")  # type: ignore[arg-type]
    assert lim.current == 2 and lim.decreases == 2


def test_queueing_latency_shrinks_and_plain_errors_do_not() -> None:
    clock = FakeClock()
    lim = AdaptiveLimiter(4, initial=4, clock=clock)
    t = lim.acquire()
    clock.t += 1.0
    lim.release(t, "ok", 100)  # baseline: 1 s for 100 tokens
    t = lim.acquire()
    clock.t += 1.9
    lim.release(t, "ok", 200)  # a longer answer at the same speed is not queueing
    assert lim.current == 4
    t = lim.acquire()
    clock.t += 3.0
    lim.release(t, "ok", 100)  # three times slower per token: queueing
    assert lim.limit == 3.0 and lim.decreases == 1
    t = lim.acquire()
    clock.t += 0.1
    lim.release(t, "error")
    assert lim.limit == 3.0


def test_fixed_concurrency_when_adaptive_is_off() -> None:
    lim = AdaptiveLimiter(3, adaptive=False)
    tickets = [lim.acquire() for _ in range(3)]
    for t in tickets:
        lim.release(t, "overload")  # type: ignore[arg-type]
    assert lim.current == 3


def test_acquire_stops_waiting_when_aborted() -> None:
    lim = AdaptiveLimiter(1)
    held = lim.acquire()
    abort = threading.Event()
    got: list[object] = []
    th = threading.Thread(target=lambda: got.append(lim.acquire(abort)))
    th.start()
    abort.set()
    th.join(2.0)
    assert got == [None] and held is not None


def run_batch(standin: StandinOpenAI, n: int, seconds: float, **endpoint: object) -> tuple[list[object], dict[str, int], int]:
    imgs = [jpeg_of(100 + i) for i in range(n)]
    for i, img in enumerate(imgs):
        standin.script_image(img, Slow(seconds, f"answer {i}"))
    ep = ModelEndpoint(**{"url": standin.url, "model": "m", "concurrency": 4, "max_retries": 2, **endpoint})
    with OpenAIChatClient(ep, backoff_s=0.05, max_backoff_s=0.2) as c:
        out = c.chat_many([ChatRequest("s", "u", [img]) for img in imgs])
        return out, c.stats.snapshot(), c.limiter.peak_in_flight


def test_a_serial_server_with_a_fixed_limit_piles_up_timeouts(standin: StandinOpenAI) -> None:
    """The failure of the issue, reproduced: 4 in flight on a server that answers one at a time,
    each answer 0.3 s, a 1 s timeout: the fourth in line times out, and the retries queue behind
    the answers the server still generates for nobody."""
    standin.serial = True
    _, stats, peak = run_batch(standin, 8, 0.3, timeout_s=1.0, adaptive_concurrency=False)
    assert peak == 4 and stats["timeouts"] >= 2
    assert stats["requests"] >= 8 + 2


def test_a_serial_server_gets_an_adaptive_client_without_timeouts(standin: StandinOpenAI) -> None:
    standin.serial = True
    out, stats, peak = run_batch(standin, 8, 0.3, timeout_s=1.0)  # at most 2 in line: 0.6 s
    assert [o.text for o in out] == [f"answer {i}" for i in range(8)]  # type: ignore[union-attr]
    assert stats.get("timeouts", 0) == 0 and stats["requests"] == 8 and stats.get("retry_transient", 0) == 0
    # the client's own count (a fixed client keeps 4 in flight and times out); on a loaded machine the
    # latency noise can let it probe a third before a round shows the queueing, never the fourth
    assert peak <= 3


def test_a_parallel_server_gets_the_full_concurrency(standin: StandinOpenAI) -> None:
    out, stats, peak = run_batch(standin, 16, 0.15, timeout_s=5.0)
    assert all(not isinstance(o, VlmError) for o in out)
    assert peak == 4 and standin.max_in_flight == 4 and stats["requests"] == 16


@pytest.mark.parametrize("adaptive", [True, False])
def test_results_keep_request_order(standin: StandinOpenAI, adaptive: bool) -> None:
    out, _, _ = run_batch(standin, 6, 0.02, adaptive_concurrency=adaptive)
    assert [o.text for o in out] == [f"answer {i}" for i in range(6)]  # type: ignore[union-attr]
