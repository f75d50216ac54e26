"""SIGTERM to `skyscript run --jobs 2` while its workers are in the middle of steps: the workers
are stopped, each marks its step run interrupted and frees its leases, the run frees the drama,
and the next run finishes the drama."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from fixtures.drama_rows import cli_env, drama_rows, row_diff
from fixtures.polling import wait_for_row

STEPS = "probe,scan,text"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYSCRIPT_")}
    env["SKYSCRIPT_HOME"] = str(home)
    return env


def _cmd(src: Path) -> list[str]:
    return [sys.executable, "-m", "skyscript.cli", "run", str(src), "--drama", "jobs-term", "--steps", STEPS,
            "--jobs", "2", "--no-progress"]


def test_sigterm_stops_the_workers_and_frees_every_lease(tmp_path: Path, sample_media: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.avi").symlink_to(sample_media / "vtest.avi")
    (src / "b.avi").symlink_to(sample_media / "Megamind.avi")
    home = tmp_path / "home"
    proc = subprocess.Popen(_cmd(src), env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_row(home / "lineage.db", "select count(*) from step_run where step in ('scan', 'text') and status = 'running'", 180)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    with sqlite3.connect(home / "lineage.db") as db:
        assert db.execute("select count(*) from step_lease").fetchone() == (0,)
        assert db.execute("select count(*) from step_run where status = 'running'").fetchone() == (0,)
        assert db.execute("select count(*) from step_run where error like 'interrupted%'").fetchone()[0] >= 1
    again = subprocess.run(_cmd(src), check=False, env=_env(home), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr[-2000:]
    with sqlite3.connect(home / "lineage.db") as db:
        done = db.execute("select count(distinct episode_id) from step_run where step = 'text' and status = 'success'").fetchone()
    assert done == (2,)
    # the same rows as a run that was never stopped
    clean = subprocess.run(_cmd(src), check=False, env=_env(tmp_path / "clean"), capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stdout + clean.stderr[-2000:]
    want = drama_rows(cli_env(tmp_path / "clean"), "jobs-term", tmp_path / "clean-export")
    got = drama_rows(cli_env(home), "jobs-term", tmp_path / "export")
    lost, dup = row_diff(want, got)
    print(f"\nFAULT-TABLE | SIGTERM to run --jobs 2 mid-step | runs 2 | rows {sum(map(len, want.values()))} | lost {lost} | "
          f"duplicated {dup}")
    assert got == want
