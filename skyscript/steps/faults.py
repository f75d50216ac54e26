"""Fault injection for retry drills and tests: kill a step process in the middle of its work.

``SKYSCRIPT_FAULT_KILL="STEP@TRY[:SIGNAL][,STEP@TRY[:SIGNAL]...]"`` (e.g. ``probe@1``): when the
step named runs with that try number, the process signals itself right after the runner
committed the first unit's outputs and before it finished the step run. The signal is ``KILL``
(the default) or ``TERM``:

* ``KILL``: the outputs are written but the step run stays ``running`` and the leases stay
  held, exactly what a node loss or OOM kill leaves behind;
* ``TERM`` (what systemd and Kubernetes send): the CLI's handler turns it into ``SystemExit``,
  so the step run is marked interrupted and the leases are freed on the way out.

The retry must then redo the unit without loss or duplicates. With the variable unset nothing
changes.
"""

from __future__ import annotations

import os
import signal
import sys

FAULT_ENV = "SKYSCRIPT_FAULT_KILL"
SIGNALS = {"KILL": signal.SIGKILL, "TERM": signal.SIGTERM}


def fault_signals(spec: str) -> dict[tuple[str, int], signal.Signals]:
    """``{(step, try): signal}`` for every entry of ``spec``; :class:`ValueError` names a bad one."""
    out: dict[tuple[str, int], signal.Signals] = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        where, _, sig = part.partition(":")
        step, sep, tries = where.partition("@")
        if not sep or not step or not tries.isdigit() or (sig and sig not in SIGNALS):
            raise ValueError(f"{FAULT_ENV}: expected STEP@TRY[:KILL|:TERM] entries (e.g. probe@1), got {part!r}")
        out[(step, int(tries))] = SIGNALS[sig or "KILL"]
    return out


def signal_for(step: str, try_number: int, environ: dict[str, str] | None = None) -> signal.Signals | None:
    """The signal the fault spec sends ``step`` on ``try_number``, or None."""
    spec = (os.environ if environ is None else environ).get(FAULT_ENV, "")
    return fault_signals(spec).get((step, try_number)) if spec else None


def after_write(step: str, try_number: int, unit: str | None) -> None:
    """Called by the runner between the unit's data transaction and the end of its step run."""
    sig = signal_for(step, try_number)
    if sig is not None:
        what = "killing" if sig == signal.SIGKILL else f"sending {sig.name} to"
        sys.stderr.write(f"fault injection: {what} {step} on {unit} (try {try_number})\n")
        sys.stderr.flush()
        os.kill(os.getpid(), sig)
