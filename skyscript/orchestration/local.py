"""Local mode: run ``skyscript step ...`` with the same arguments a pod would get, either as a
subprocess of the worker (the default: a crash or a kill stays inside it) or in-process.

Fault injection for tests and drills: ``SKYSCRIPT_FAULT_KILL`` in the environment reaches the
step process, whose runner then kills itself in the middle of an episode
(see :mod:`skyscript.steps.faults`).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Callable

from skyscript.orchestration.commands import StepInvocation, StepLine, parse_step_output

log = logging.getLogger("skyscript.orchestration.local")


@dataclass
class LocalOutcome:
    returncode: int
    lines: list[StepLine]
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def killed(self) -> bool:
        return self.returncode < 0


class StepProcessError(RuntimeError):
    """The step process failed (exit status not 0): the task should fail and retry."""

    def __init__(self, inv: StepInvocation, outcome: LocalOutcome) -> None:
        how = (
            f"killed by signal {signal.Signals(-outcome.returncode).name}"
            if outcome.killed and -outcome.returncode in signal.valid_signals()
            else f"exit status {outcome.returncode}"
        )
        failed = [f"{ln.episode or '-'}: {ln.error}" for ln in outcome.lines if ln.status == "failed"]
        detail = "; ".join(failed) or outcome.stderr_tail[-2000:]
        super().__init__(f"step {inv.step} for drama {inv.drama} failed ({how}): {detail}")
        self.outcome = outcome


def step_command(inv: StepInvocation) -> list[str]:
    """The command line local mode runs: the ``skyscript`` CLI under this interpreter."""
    return [sys.executable, "-m", "skyscript.cli", *inv.args()]


class LocalStepRunner:
    """Runs one step invocation locally; ``terminate()`` ends a running subprocess (on kill)."""

    def __init__(self, mode: str = "subprocess", timeout_s: float | None = None,
                 on_line: Callable[[str], None] | None = None) -> None:
        if mode not in ("subprocess", "inprocess"):
            raise ValueError(f"local runner mode must be 'subprocess' or 'inprocess', not {mode!r}")
        self.mode = mode
        self.timeout_s = timeout_s
        self.on_line = on_line or (lambda line: log.info("%s", line))
        self._proc: subprocess.Popen[str] | None = None

    def run(self, inv: StepInvocation, env: dict[str, str] | None = None) -> LocalOutcome:
        return self._subprocess(inv, env) if self.mode == "subprocess" else self._inprocess(inv)

    def terminate(self, grace_s: float = 10.0) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()

    def _subprocess(self, inv: StepInvocation, env: dict[str, str] | None) -> LocalOutcome:
        environ = dict(os.environ if env is None else env)
        cmd = step_command(inv)
        self._proc = proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ,
        )
        err_tail: list[str] = []
        out_lines: list[str] = []

        def pump_stderr() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                line = line.rstrip("\n")
                err_tail.append(line)
                del err_tail[:-200]
                self.on_line(line)

        def pump_stdout() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                out_lines.append(line.rstrip("\n"))
                self.on_line(line.rstrip("\n"))

        readers = [threading.Thread(target=f, daemon=True) for f in (pump_stdout, pump_stderr)]
        for t in readers:
            t.start()
        try:
            proc.wait(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            self.terminate()
            proc.wait()
            err_tail.append(f"step process timed out after {self.timeout_s}s and was terminated")
        finally:
            for t in readers:
                t.join(timeout=10)
            self._proc = None
        stdout = "\n".join(out_lines)
        return LocalOutcome(proc.returncode, parse_step_output(stdout), "\n".join(err_tail))

    def _inprocess(self, inv: StepInvocation) -> LocalOutcome:
        from skyscript.config import Settings
        from skyscript.steps.invoke import Invocation, run_invocation

        try:
            outcome = run_invocation(Settings(), Invocation(
                inv.step, inv.drama, list(inv.episodes), list(inv.sources), inv.dag_run_id, inv.try_number,
                dict(inv.params), inv.force,
            ))
        except Exception as exc:  # noqa: BLE001 - a usage or setup error is a failed step, reported as such
            return LocalOutcome(1, [], f"{type(exc).__name__}: {exc}")
        text = "\n".join(outcome.lines())
        for line in text.splitlines():
            self.on_line(line)
        return LocalOutcome(1 if outcome.failed else 0, parse_step_output(text))


def run_local(inv: StepInvocation, mode: str = "subprocess", timeout_s: float | None = None,
              env: dict[str, str] | None = None) -> LocalOutcome:
    """Run one invocation and raise :class:`StepProcessError` when it failed."""
    outcome = LocalStepRunner(mode, timeout_s).run(inv, env)
    if not outcome.ok:
        raise StepProcessError(inv, outcome)
    return outcome
