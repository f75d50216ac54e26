"""The one entry point every step runs through, as an argument list:
``skyscript step NAME --drama D [--episode E ...] [--source S ...] --dag-run-id RUN --try-number N``.

A pod's container runs ``skyscript`` with these arguments; local mode runs the same arguments in
a subprocess or in-process, so both modes record the same lineage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable


@dataclass(frozen=True)
class StepInvocation:
    """What one step task asks the CLI to do."""

    step: str
    drama: str
    episodes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    dag_run_id: str | None = None
    try_number: int = 1
    params: dict[str, str] = field(default_factory=dict)
    force: bool = False  # redo steps whose inputs are unchanged since their last success

    def args(self) -> list[str]:
        """Arguments after the ``skyscript`` program name."""
        out = ["step", self.step, "--drama", self.drama]
        for ep in self.episodes:
            out += ["--episode", ep]
        for src in self.sources:
            out += ["--source", src]
        if self.dag_run_id:
            out += ["--dag-run-id", self.dag_run_id]
        out += ["--try-number", str(int(self.try_number))]
        for key, value in sorted(self.params.items()):
            out += ["--param", f"{key}={value}"]
        if self.force:
            out.append("--force")
        return out


def as_str_list(value: Any) -> tuple[str, ...]:
    """Normalise what a template or an XCom hands over (a list, a JSON list, one string, None)."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            return (text,)
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value if str(v))
    raise TypeError(f"expected a list of strings, got {type(value).__name__}: {value!r}")


@dataclass
class StepLine:
    """One JSON line the CLI prints per result."""

    step: str
    episode: str | None
    status: str
    step_run_id: int | None
    counts: dict[str, int]
    error: str | None


def parse_step_output(stdout: str) -> list[StepLine]:
    """The result lines of ``skyscript step`` (other lines are ignored)."""
    lines: list[StepLine] = []
    for raw in stdout.splitlines():
        raw = raw.strip()
        if not raw.startswith("{"):
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if not isinstance(obj, dict) or "step" not in obj or "status" not in obj:
            continue
        lines.append(StepLine(obj["step"], obj.get("episode"), obj["status"], obj.get("step_run_id"),
                              dict(obj.get("counts") or {}), obj.get("error")))
    return lines


def summarise(lines: Iterable[StepLine]) -> dict[str, Any]:
    """Counts only (what goes to XCom): results by status and summed step counts."""
    by_status: dict[str, int] = {}
    totals: dict[str, int] = {}
    for line in lines:
        by_status[line.status] = by_status.get(line.status, 0) + 1
        for k, v in line.counts.items():
            if isinstance(v, (int, float)):
                totals[k] = totals.get(k, 0) + int(v)
    return {"results": by_status, "counts": totals}

