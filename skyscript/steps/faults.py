"""Fault injection for retry drills and tests: kill a step process in the middle of its work.

``SKYSCRIPT_FAULT_KILL="STEP@TRY[,STEP@TRY...]"`` (e.g. ``probe@1``): when the step named runs
with that try number, the process SIGKILLs itself right after the runner committed the first
unit's outputs and before it finished the step run: the outputs are written but the step run
stays ``running``, exactly what a node loss or OOM kill leaves behind. The retry must then redo
the unit without loss or duplicates. With the variable unset nothing changes.
"""

from __future__ import annotations

import os
import signal
import sys

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


def should_kill(step: str, try_number: int, environ: dict[str, str] | None = None) -> bool:
    spec = (os.environ if environ is None else environ).get(FAULT_ENV, "")
    return bool(spec) and (step, try_number) in parse_faults(spec)


def after_write(step: str, try_number: int, unit: str | None) -> None:
    """Called by the runner between the unit's data transaction and the end of its step run."""
    if should_kill(step, try_number):
        sys.stderr.write(f"fault injection: killing {step} on {unit} (try {try_number})\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
