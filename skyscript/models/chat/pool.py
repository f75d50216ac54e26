"""Many chat calls with a bounded number in flight, their results as they complete.

The client's limiter (:class:`~skyscript.models.chat.limiter.AdaptiveLimiter`) decides how many
requests are on the wire; the pool only has to offer it enough work: ``workers`` threads (the
endpoint's ``concurrency``), each running one job at a time, all jobs queued at once so that no
job waits for an unrelated one (a script's restorations do not wait for the previous script's
last answers). Leaving early, by an error in a job or in the consumer, cancels the jobs that have
not started; the running ones finish (their answers are paid for and may be journaled).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

J = TypeVar("J")
R = TypeVar("R")


def completed(fn: Callable[[J], R], jobs: Iterable[J], workers: int, *, name: str = "chat") -> Iterator[R]:
    """``fn(job)`` for every job on at most ``workers`` threads; yields the results in the order
    they complete. An exception raised by ``fn`` is raised here, after the unstarted jobs are cancelled."""
    todo = list(jobs)
    if not todo:
        return
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo))), thread_name_prefix=name)
    try:
        futures = [pool.submit(fn, job) for job in todo]
        for fut in as_completed(futures):
            yield fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
