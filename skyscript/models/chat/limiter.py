"""Adaptive concurrency for one model server: how many requests may be in flight right now.

A serial server (``transformers serve`` without continuous batching answers one request at a time)
turns extra in-flight requests into queueing: each waits for the ones before it, latencies grow
1x, 2x, 3x..., and with a fixed limit of 4 and a per-request timeout the last ones time out while
the server goes on generating the answers the client abandoned. A batching server (lmdeploy,
vLLM) answers several at once at about the same latency.

The limit adapts like TCP congestion control (additive increase per round, multiplicative
decrease), with queueing latency as the early congestion signal, as TCP Vegas and Netflix's
concurrency-limits do:

* it starts at ``initial`` (1 request in flight);
* after a full *round* at the current limit it grows: as many answers as the limit, all from
  requests started since the limit last changed, none slower than ``hold`` times the best recent
  latency, and the limit in use (one of them started with as many in flight as allowed). Judging a
  whole round matters: of two requests sent together to a serial server one answers as fast as if
  it were alone, and only the other shows the queueing;
* it grows by one per round while below ``SLOW_START_FROM`` (4), where a serial server shows
  itself one step at a time, then doubles per round until the first decrease (TCP's slow start):
  1, 2, 3, 4, 8, 16 takes 18 answers to reach 16, where growing by one takes 120, more than an
  episode's requests. After a decrease it grows by one per round again;
* an answer slower than ``tolerance`` times the best of the last ``window`` answers is queueing:
  the limit shrinks by a quarter; one between ``hold`` and ``tolerance`` restarts the round;
* a timeout, HTTP 429 or 503 is overload: the limit halves;
* only requests started after the last decrease can decrease it again, so one burst of slow
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

SLOW_START_FROM = 4  # below this the limit grows by one per round, from it it doubles until the first decrease
PROMPT_TOKEN_ALLOWANCE = 16  # latency per (completion tokens + this): short answers still carry prefill


@dataclass(frozen=True)
class Ticket:
    seq: int  # issue order
    started: float
    in_flight: int  # requests in flight when it started, itself included


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
        self.hold = 1.0 + (tolerance - 1.0) / 2  # 1.4x for the default 1.8x
        self.in_flight = 0
        self.peak_in_flight = 0
        self.decreases = 0
        self.increases = 0
        self.slow_start = adaptive  # double per round until the first sign of congestion
        self._issued = 0
        self._changed_at = 0  # tickets with a higher seq were issued after the limit last changed
        self._decreased_at = -1
        self._round = 0
        self._round_in_use = False
        self._samples: deque[float] = deque(maxlen=window)
        self._clock = clock
        self._cond = threading.Condition()

    def reset_peak(self) -> None:
        """Start counting the peak afresh (per unit of work; the limit itself is kept)."""
        with self._cond:
            self.peak_in_flight = self.in_flight

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
            self._issued += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return Ticket(self._issued, self._clock(), self.in_flight)

    def release(self, ticket: Ticket, outcome: Outcome, completion_tokens: int | None = None) -> None:
        latency = self._clock() - ticket.started
        with self._cond:
            self.in_flight -= 1
            if self.adaptive:
                self._adapt(ticket, outcome, latency, completion_tokens)
            self._cond.notify_all()

    def _changed(self) -> None:
        self._changed_at = self._issued
        self._round = 0
        self._round_in_use = False

    def _decrease(self, ticket: Ticket, factor: float) -> None:
        if ticket.seq <= self._decreased_at:
            return  # this request was already in flight when the limit last shrank
        self.limit = max(1.0, self.limit * factor)
        self.slow_start = False
        self._decreased_at = self._issued
        self.decreases += 1
        self._changed()

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
            return
        if ticket.seq <= self._changed_at:
            return  # sent under an older limit: says nothing about this one
        if sample > self.hold * best:
            self._round, self._round_in_use = 0, False  # latency is rising: hold, start the round again
            return
        self._round += 1
        self._round_in_use |= ticket.in_flight >= self.current
        if self._round >= self.current and self._round_in_use and self.limit < self.max_limit:
            grown = self.limit * 2 if self.slow_start and self.limit >= SLOW_START_FROM else self.limit + 1.0
            self.limit = min(float(self.max_limit), grown)
            self.increases += 1
            self._changed()
