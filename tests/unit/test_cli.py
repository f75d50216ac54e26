"""The `skyscript` command: help, step entry point (what pods run), db upgrade, steps, config."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from skyscript.cli import cli
from skyscript.db.engine import head_revision


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SKYSCRIPT_HOME", str(tmp_path / "home"))
    return CliRunner()


def test_help_explains_every_command(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["--help"])
    assert res.exit_code == 0
    for cmd in ("run", "step", "export", "status", "db", "trace", "steps", "config"):
        assert f"  {cmd} " in res.output
    assert "SKYSCRIPT_HOME" in res.output
    res = runner.invoke(cli, ["run", "--help"])
    assert "quarantined" in res.output and "--drama" in res.output


def test_step_entry_point_prints_json_and_exit_codes(runner: CliRunner, tmp_path: Path, sample_media: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(sample_media / "Megamind.avi", d / "ep01.avi")
    (d / "ep02.mp4").write_bytes(b"")
    res = runner.invoke(cli, ["step", "ingest", "--drama", "dd", "--source", str(d), "--dag-run-id", "manual__x", "--try-number", "2"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert (out["step"], out["status"], out["counts"]["new"], out["counts"]["empty"]) == ("ingest", "success", 1, 1)
    res = runner.invoke(cli, ["step", "probe", "--drama", "dd", "--episode", "dd--ep01", "--episode", "dd--ep02",
                              "--dag-run-id", "manual__x"])  # the same DAG run holds the drama
    lines = [json.loads(x) for x in res.stdout.strip().splitlines()]
    assert [(x["episode"], x["status"]) for x in lines] == [("dd--ep01", "success"), ("dd--ep02", "failed")]
    assert res.exit_code == 0  # a quarantined episode is a result, not a failed task
    res = runner.invoke(cli, ["step", "probe", "--drama", "dd"])
    assert res.exit_code == 2 and "give --episode" in res.output
    res = runner.invoke(cli, ["step", "probe", "--drama", "dd", "--episode", "dd--nope"])
    assert res.exit_code == 2 and "no episode 'dd--nope'" in res.output and "Traceback" not in res.output
    # an episode of another drama is refused before anything runs (it would re-point its keyframes)
    ep_id = "dd--ep01"
    res = runner.invoke(cli, ["step", "probe", "--drama", "other", "--episode", ep_id])
    assert res.exit_code == 2 and f"episode '{ep_id}' belongs to drama 'dd', not 'other'" in res.output


def test_bad_drama_id_is_explained(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(cli, ["step", "ingest", "--drama", "Bad Name", "--source", str(tmp_path)])
    assert res.exit_code == 2 and "drama id 'Bad Name' is not valid" in res.output and "Traceback" not in res.output


def test_db_upgrade_steps_and_config(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(cli, ["db", "upgrade"])
    assert res.exit_code == 0 and f"at revision {head_revision()}" in res.output
    assert (tmp_path / "home" / "lineage.db").is_file()
    res = runner.invoke(cli, ["steps"])
    names = [line.split()[0] for line in res.output.splitlines() if line[:1].isalpha() and ":" not in line.split()[0]]
    assert names[:2] == ["ingest", "probe"]
    res = runner.invoke(cli, ["config"])
    cfg = json.loads(res.output)
    assert cfg["thresholds"] == {"max_loss_rate": 0.04, "min_accuracy": 0.9}
    assert cfg["home"] == str((tmp_path / "home").resolve())


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).with_name("skyscript")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True).stdout
    assert "Usage: skyscript" in out


def test_status_shows_running_steps_and_unlock_breaks_them(runner: CliRunner) -> None:
    from skyscript.config import Settings
    from skyscript.db import leases
    from skyscript.db.engine import Database

    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    db = Database(Settings().database_url or "")
    with db.session() as s:
        from skyscript.db import lineage

        lineage.ensure_drama(s, "dd")
        leases.acquire(s, "dd", "dd--ep01", "scan", "scheduled__crashed", ttl_s=3600)
        leases.acquire(s, "dd", "dd--ep02", "scan", "scheduled__crashed", ttl_s=3600)
    res = runner.invoke(cli, ["status", "--drama", "dd"])
    assert "running: scan on dd--ep01 (run scheduled__crashed" in res.output
    res = runner.invoke(cli, ["unlock", "--drama", "dd", "--episode", "dd--ep01"])
    assert res.exit_code == 0 and "released scan on dd--ep01 (held by scheduled__crashed)" in res.output
    assert "1 lease(s) released" in res.output
    with db.session() as s:
        assert [(le.episode_id, le.step) for le in leases.active(s, "dd")] == [("dd--ep02", "scan")]
    db.dispose()


@pytest.mark.parametrize("env, expected", [
    ({"SKYSCRIPT_THRESHOLDS__MAX_LOSS_RATE": "2"}, "thresholds.max_loss_rate (SKYSCRIPT_THRESHOLDS__MAX_LOSS_RATE='2')"),
    ({"SKYSCRIPT_THRESHOLDS__MAX_LOSS_RATE": "abc"}, "Input should be a valid number"),
    ({"SKYSCRIPT_CONFIG": "TOML"}, "is not valid TOML"),
])
def test_bad_settings_are_one_line(env: dict[str, str], expected: str, tmp_path: Path) -> None:
    if env.get("SKYSCRIPT_CONFIG") == "TOML":
        (tmp_path / "bad.toml").write_text("[thresholds\nmax_loss_rate = ")
        env = {"SKYSCRIPT_CONFIG": str(tmp_path / "bad.toml")}
    res = CliRunner(env=env).invoke(cli, ["status"])
    assert res.exit_code == 2 and expected in res.output and "Traceback" not in res.output


def test_misspelt_settings_are_named_with_the_closest_one() -> None:
    res = CliRunner(env={"SKYSCRIPT_THRESHOLDS__MAX_LOS_RATE": "0.1", "SKYSCRIPT_PRIVACCY__VERIFY": "0"}).invoke(cli, ["status"])
    assert res.exit_code == 0
    assert "SKYSCRIPT_THRESHOLDS__MAX_LOS_RATE names no setting; did you mean SKYSCRIPT_THRESHOLDS__MAX_LOSS_RATE?" in res.output
    assert "did you mean SKYSCRIPT_PRIVACY?" in res.output


def test_an_unreachable_database_is_one_line_without_its_password() -> None:
    url = "postgresql+psycopg://ops:PW-s3cr3t@127.0.0.1:1/lineage"  # nothing listens on port 1
    res = CliRunner(env={"SKYSCRIPT_DATABASE_URL": url}).invoke(cli, ["status"])
    assert res.exit_code == 1 and "Traceback" not in res.output and "PW-s3cr3t" not in res.output
    assert "cannot use the lineage database postgresql+psycopg://ops:***@127.0.0.1:1/lineage" in res.output


def test_an_unknown_drama_is_said_not_reported_as_passing(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(cli, ["status", "--drama", "nope"])
    assert res.exit_code == 1 and "no drama 'nope'" in res.output and "pass" not in res.output
    res = runner.invoke(cli, ["export", "--drama", "nope", "--out", str(tmp_path / "x")])
    assert res.exit_code == 1 and "no drama 'nope'" in res.output and not (tmp_path / "x").exists()


def test_the_run_summary_names_a_failed_drama_step_as_such(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from skyscript.cli import _print_summary
    from skyscript.config import Settings
    from skyscript.pipeline import RunSummary
    from skyscript.steps.base import StepResult

    summary = RunSummary("dd", "local-1", failed=[
        StepResult("privacy", "dd", "dd--ep01", "failed", 3, error="StoreUnavailable: S3 server\ngone"),
        StepResult("scenes", "dd", None, "failed", 4, error="ValueError: no shots"),
    ])
    _print_summary(summary, Settings(home=tmp_path / "home"))
    failed = [ln.strip() for ln in capsys.readouterr().out.splitlines() if "FAILED" in ln]
    assert failed == ["FAILED privacy on dd--ep01: StoreUnavailable: S3 server\\ngone", "FAILED scenes (drama): ValueError: no shots"]
