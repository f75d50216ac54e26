"""Crash safety of `skyscript run`, as an operator meets it: kill -9 in the middle of a step, SIGTERM
(what systemd and Kubernetes send), and a second run of the same drama started beside the first.
Each test counts rows against a clean run instead of looking for the absence of errors."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fixtures.drama_rows import Rows, row_diff
from fixtures.polling import wait_for_row


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYSCRIPT_")}
    env.update({"SKYSCRIPT_HOME": str(home), **extra})
    return env


def _run(home: Path, src: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "skyscript.cli", "run", str(src), "--drama", "crash", "--no-progress"],
                          env=_env(home, **extra), capture_output=True, text=True, timeout=600)


def _rows(home: Path) -> Rows:
    """What a clean run and a recovered run must agree on: exported tables, annotations, losses."""
    out = home / "export"
    subprocess.run([sys.executable, "-m", "skyscript.cli", "export", "--drama", "crash", "--out", str(out)],
                   env=_env(home), check=True, capture_output=True)
    tables = {p.name: sorted(map(repr, (
        {k: v for k, v in r.items() if k not in ("step_run_id",)} for r in pq.read_table(p).to_pylist()
    ))) for p in sorted(out.glob("*.parquet"))}
    with sqlite3.connect(home / "lineage.db") as db:
        tables["annotation"] = sorted(db.execute("select keyframe_id, kind, version, current, payload from annotation").fetchall())
        tables["loss"] = sorted(db.execute("select drama_id, step, item_id, reason from loss").fetchall())
        tables["leases"] = db.execute("select count(*) from step_lease").fetchall()
        tables["running"] = db.execute("select count(*) from step_run where status = 'running'").fetchall()
    # messages that name files under the home (a missing weight's expected path) differ by home only
    return {k: [repr(x).replace(str(home), "<home>") for x in v] for k, v in tables.items()}


def _same_as_clean(fault: str, runs: int, clean: Rows, got: Rows) -> bool:
    """Counted (and printed for the fault table) before the rows are compared whole."""
    lost, dup = row_diff(clean, got)
    print(f"\nFAULT-TABLE | {fault} | runs {runs} | rows {sum(len(v) for v in clean.values())} | lost {lost} | duplicated {dup}")
    return got == clean


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, src: Path) -> Rows:
    home = tmp_path_factory.mktemp("clean")
    assert _run(home, src).returncode == 0
    return _rows(home)


@pytest.mark.parametrize("step", ["scan", "privacy", "keyinfo"])
def test_kill_9_mid_step_then_rerun_equals_a_clean_run(step: str, src: Path, clean: Rows, tmp_path: Path) -> None:
    first = _run(tmp_path, src, SKYSCRIPT_FAULT_KILL=f"{step}@1")
    assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
    with sqlite3.connect(tmp_path / "lineage.db") as db:
        assert db.execute("select count(*) from step_run where status = 'running' and step = ?", (step,)).fetchone() == (1,)
        assert db.execute("select count(*) from step_lease").fetchone()[0] >= 1  # left behind by the dead process
    again = _run(tmp_path, src)  # at once: the dead holder's leases are taken over, not waited out
    assert again.returncode == 0, again.stdout + again.stderr[-2000:]
    with sqlite3.connect(tmp_path / "lineage.db") as db:
        killed = db.execute("select error from step_run where step = ? and status = 'failed'", (step,)).fetchall()
    assert len(killed) == 1 and killed[0][0].startswith("killed: its lease was taken over")
    assert _same_as_clean(f"kill -9 in {step}", 2, clean, _rows(tmp_path))


def test_sigterm_releases_leases_and_ends_the_step_run(src: Path, clean: Rows, tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "skyscript.cli", "run", str(src), "--drama", "crash", "--no-progress"],
                            env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_row(tmp_path / "lineage.db", "select count(*) from step_run where step = 'text' and status = 'running'")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM
    with sqlite3.connect(tmp_path / "lineage.db") as db:
        assert db.execute("select count(*) from step_lease").fetchone() == (0,)
        assert db.execute("select count(*) from step_run where status = 'running'").fetchone() == (0,)
        assert db.execute("select count(*) from step_run where error like 'interrupted%'").fetchone() == (1,)
    assert _run(tmp_path, src).returncode == 0
    assert _same_as_clean("SIGTERM in text", 2, clean, _rows(tmp_path))


def test_a_second_run_of_the_drama_is_refused_while_the_first_works(src: Path, clean: Rows, tmp_path: Path) -> None:
    first = subprocess.Popen([sys.executable, "-m", "skyscript.cli", "run", str(src), "--drama", "crash", "--no-progress"],
                             env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_row(tmp_path / "lineage.db", "select count(*) from step_run where step = 'scan'")
    second = _run(tmp_path, src)
    assert second.returncode == 1 and "is being processed by another run" in second.stderr
    assert "Traceback" not in second.stderr
    first.communicate(timeout=300)
    assert first.returncode == 0
    with sqlite3.connect(tmp_path / "lineage.db") as db:
        runs = {r[0] for r in db.execute("select distinct dag_run_id from step_run")}
    assert len(runs) == 1  # nothing of the second run was written
    assert _same_as_clean("two runs of one drama at once", 2, clean, _rows(tmp_path))
