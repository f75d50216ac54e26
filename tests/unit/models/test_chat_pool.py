"""The bounded pool the script-pairs step asks the LLM through: every job's result, at most
``workers`` running at once (all of them when there is work), and an error stops what has not started."""

from __future__ import annotations

import threading

import pytest

from skyscript.models.chat.pool import completed


def test_every_result_with_the_workers_all_busy_and_never_more() -> None:
    lock = threading.Lock()
    running, peak = [0], [0]
    together = threading.Barrier(3, timeout=10)  # the first three jobs only finish once all three run

    def job(i: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        if i < 3:
            together.wait()
        with lock:
            running[0] -= 1
        return i * i

    assert sorted(completed(job, range(10), 3)) == [i * i for i in range(10)]
    assert peak[0] == 3
    assert list(completed(job, [], 3)) == []


def test_an_error_is_raised_and_the_jobs_not_started_are_cancelled() -> None:
    """One worker: job 0 fails; job 1, if the worker took it before the cancel, holds the worker
    (it waits for a permit that never comes, up to 2 s), so jobs 2.. are still queued when the
    error reaches the consumer and are never run."""
    ran: list[int] = []
    never = threading.Semaphore(0)

    def job(i: int) -> int:
        ran.append(i)
        if i == 0:
            raise RuntimeError("model server misconfigured")
        never.acquire(timeout=2.0)
        return i

    with pytest.raises(RuntimeError, match="misconfigured"):
        list(completed(job, range(50), 1))
    assert ran in ([0], [0, 1])
