"""Adaptive concurrency for one model server: how many requests may be in flight right now.

A serial server (``transformers serve`` without continuous batching answers one request at a time)
turns extra in-flight requests into queueing: each waits for the ones before it, latencies grow
1x, 2x, 3x..., and with a fixed limit of 4 and a per-request timeout the last ones time out while
the server goes on generating the answers the client abandoned. A batching server (lmdeploy,
vLLM) answers several at once at about the same latency.

The limit adapts like TCP congestion control (additive increase, multiplicative decrease), with
queueing latency as the early congestion signal, as in Netflix's concurrency-limits:

* it starts at ``initial`` (1) and grows by one per answer that came back without queueing
  (slow start), then, after the first back-off, by ``1/limit`` per such answer;
* an answer whose latency per generated token exceeds ``tolerance`` times the best of the last
  ``window`` answers is queueing: the limit shrinks by a quarter;
* a timeout, HTTP 429 or 503 is overload: the limit halves;
* only requests started after the last decrease can decrease it again, so one burst of queued
  answers counts as one signal.

Latency is taken per generated token (plus a fixed allowance for the prompt) when the server
reports usage, so a long answer is not mistaken for queueing. No library in our registries does
this for a thread pool (``aiolimiter`` limits rates, ``tenacity`` retries), so it is written here,
small and fully tested.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Literal

Outcome = Literal["ok", "overload", "error"]

PROMPT_TOKEN_ALLOWANCE = 16  # latency per (completion tokens + this): short answers still carry prefill


@dataclass(frozen=True)
class Ticket:
    started: float


class AdaptiveLimiter:
    def __init__(
        self,
        max_limit: int,
        *,
        adaptive: bool = True,
        initial: int = 1,
        tolerance: float = 1.8,
        window: int = 50,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_limit = max(1, max_limit)
        self.adaptive = adaptive
        self.limit = float(min(self.max_limit, max(1, initial)) if adaptive else self.max_limit)
        self.tolerance = tolerance
        self.in_flight = 0
        self.peak_in_flight = 0
        self.decreases = 0
        self._slow_start = True
        self._last_decrease = float("-inf")
        self._samples: deque[float] = deque(maxlen=window)
        self._clock = clock
        self._cond = threading.Condition()

    @property
    def current(self) -> int:
        return max(1, int(self.limit))

    def acquire(self, abort: threading.Event | None = None) -> Ticket | None:
        """Wait for a free slot; None when ``abort`` was set while waiting."""
        with self._cond:
            while self.in_flight >= self.current:
                if abort is not None and abort.is_set():
                    return None
                self._cond.wait(0.05)
            if abort is not None and abort.is_set():
                return None
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return Ticket(self._clock())

    def release(self, ticket: Ticket, outcome: Outcome, completion_tokens: int | None = None) -> None:
        now = self._clock()
        with self._cond:
            self.in_flight -= 1
            if self.adaptive:
                self._adapt(ticket, outcome, now - ticket.started, completion_tokens)
            self._cond.notify_all()

    def _decrease(self, ticket: Ticket, factor: float) -> None:
        if ticket.started <= self._last_decrease:
            return  # this request was already in flight when the limit last shrank
        self.limit = max(1.0, self.limit * factor)
        self._last_decrease = self._clock()
        self._slow_start = False
        self.decreases += 1

    def _adapt(self, ticket: Ticket, outcome: Outcome, latency: float, tokens: int | None) -> None:
        if outcome == "overload":
            self._decrease(ticket, 0.5)
            return
        if outcome != "ok":
            return
        sample = latency / (tokens + PROMPT_TOKEN_ALLOWANCE) if tokens else latency
        best = min(self._samples) if self._samples else sample
        self._samples.append(sample)
        if sample > self.tolerance * best:
            self._decrease(ticket, 0.75)
        elif self._slow_start:
            self.limit = min(float(self.max_limit), self.limit + 1.0)
        else:
            self.limit = min(float(self.max_limit), self.limit + 1.0 / self.limit)
