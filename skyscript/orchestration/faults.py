"""Fault injection for retry drills and tests: kill a step process in the middle of an episode.

``SKYSCRIPT_FAULT_KILL="STEP@TRY[,STEP@TRY...]"`` (e.g. ``probe@1``): local mode then runs
``python -m skyscript.orchestration.faults step ...`` instead of ``python -m skyscript.cli step
...``, with the same arguments. When the step named runs with that try number, the process
SIGKILLs itself right after the step's ``run`` returned for the first episode: its outputs are
written but the step run is never finished (it stays ``running``), exactly what a node loss or
OOM kill leaves behind. The retry must then redo the episode without loss or duplicates.
Anything else runs unchanged.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

FAULT_ENV = "SKYSCRIPT_FAULT_KILL"


def parse_faults(spec: str) -> set[tuple[str, int]]:
    out: set[tuple[str, int]] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        step, sep, tries = part.partition("@")
        if not sep or not step or not tries.isdigit():
            raise ValueError(f"{FAULT_ENV}: expected STEP@TRY entries (e.g. probe@1), got {part!r}")
        out.add((step, int(tries)))
    return out


def _install(faults: set[tuple[str, int]]) -> None:
    from skyscript.steps import runner

    original = runner.run_step

    def run_step(step: Any, ctx: Any, episode_id: str | None = None, **kw: Any) -> Any:
        if (step.name, ctx.try_number) in faults:
            real_run = step.run

            def run_then_die(c: Any, run_id: int, ep: str | None) -> Any:
                real_run(c, run_id, ep)
                sys.stderr.write(f"fault injection: killing {step.name} on {ep} (try {c.try_number})\n")
                sys.stderr.flush()
                os.kill(os.getpid(), signal.SIGKILL)

            step.run = run_then_die
        return original(step, ctx, episode_id, **kw)

    runner.run_step = run_step


def main() -> None:
    _install(parse_faults(os.environ.get(FAULT_ENV, "")))
    from skyscript.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
