"""Local mode runs the real CLI; the fault hook kills it mid-episode and a retry recovers."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from skyscript.config import Settings
from skyscript.context import open_context
from skyscript.db import lineage
from skyscript.db.models import StepRun
from skyscript.orchestration.commands import StepInvocation
from skyscript.orchestration.local import LocalStepRunner, StepProcessError, run_local, step_command
from skyscript.steps.faults import FAULT_ENV, fault_signals, signal_for


def test_fault_signals_parse_the_spec() -> None:
    assert set(fault_signals("probe@1, text@2")) == {("probe", 1), ("text", 2)}
    with pytest.raises(ValueError, match="STEP@TRY"):
        fault_signals("probe")
    assert fault_signals("probe@1, text@2:TERM, scan@1:KILL") == {
        ("probe", 1): signal.SIGKILL, ("text", 2): signal.SIGTERM, ("scan", 1): signal.SIGKILL}
    with pytest.raises(ValueError, match="KILL"):
        fault_signals("probe@1:HUP")


def test_faults_fire_only_when_asked() -> None:
    inv = StepInvocation("probe", "d", episodes=("d--e",))
    assert step_command(inv)[1:3] == ["-m", "skyscript.cli"]
    assert signal_for("probe", 1, {}) is None
    assert signal_for("probe", 1, {FAULT_ENV: "probe@1"}) == signal.SIGKILL
    assert signal_for("probe", 2, {FAULT_ENV: "probe@1"}) is None and signal_for("scan", 1, {FAULT_ENV: "probe@1"}) is None


def test_killed_step_leaves_a_running_row_and_the_retry_recovers(sample_media: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYSCRIPT_HOME", str(tmp_path / "home"))
    run_local(StepInvocation("ingest", "mm", sources=(str(sample_media / "Megamind.avi"),), dag_run_id="r"))
    monkeypatch.setenv(FAULT_ENV, "probe@1")
    first = LocalStepRunner().run(StepInvocation("probe", "mm", episodes=("mm--megamind",), dag_run_id="r", try_number=1))
    assert first.killed and first.returncode == -9
    assert "fault injection: killing probe on mm--megamind (try 1)" in first.stderr_tail
    with pytest.raises(StepProcessError, match="killed by signal SIGKILL"):
        run_local(StepInvocation("probe", "mm", episodes=("mm--megamind",), dag_run_id="r", try_number=1))
    second = run_local(StepInvocation("probe", "mm", episodes=("mm--megamind",), dag_run_id="r", try_number=2))
    assert [(ln.status, ln.counts) for ln in second.lines] == [("success", {"frames": 270})]
    ctx = open_context(Settings(), "mm")
    with ctx.db.session() as s:
        runs = [(r.step, r.try_number, r.status) for r in s.query(StepRun).order_by(StepRun.id)]
        counts = lineage.table_counts(s, "mm")
        ep = lineage.episodes_of(s, "mm")[0]
    ctx.db.dispose()
    assert runs == [("ingest", 1, "success"), ("probe", 1, "running"), ("probe", 1, "running"), ("probe", 2, "success")]
    assert counts["episode"] == 1 and counts["loss"] == 0
    assert (ep.status, ep.frame_count) == ("ok", 270)
