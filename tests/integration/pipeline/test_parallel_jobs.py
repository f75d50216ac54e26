"""`skyscript run --jobs 2`: two real episodes in two worker processes write the same rows as a
one-process run (exported Parquet values and annotation payloads; step-run ids aside), under the
run's own id, and leave no lease behind. Also: concurrent writers on one SQLite file do not fail."""

from __future__ import annotations

import multiprocessing as mp
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from skyscript.cli import cli
from skyscript.config import Settings
from skyscript.context import open_context
from skyscript.db.models import Annotation, StepLease, StepRun
from skyscript.export import export_drama
from skyscript.pipeline import run_drama

pytestmark = pytest.mark.integration

STAGE = ["probe", "scan", "text", "privacy", "shot_size", "keyinfo", "scenes"]
RUN_IDS = {"step_run_id", "run_id", "created_by_run", "step_run"}


def _tables(out: Path) -> dict[str, list[dict[str, Any]]]:
    tables = {}
    for f in sorted(out.rglob("*.parquet")):
        rows = pq.read_table(f).to_pylist()
        rows = [{k: v for k, v in r.items() if k not in RUN_IDS} for r in rows]
        tables[str(f.relative_to(out))] = sorted(rows, key=repr)
    return tables


def _annotations(ctx: Any) -> list[tuple[Any, ...]]:
    with ctx.db.session() as s:
        return sorted(
            (a.keyframe_id, a.kind, a.version, a.source, repr(a.payload))
            for a in s.scalars(select(Annotation))
        )


def _run(home: Path, inputs: Path, jobs: int, tmp: Path) -> tuple[dict[str, Any], list[Any], list[Any], int]:
    ctx = open_context(Settings(home=home), "jobs")
    try:
        summary = run_drama(ctx, [str(inputs)], steps=STAGE, jobs=jobs)
        assert summary.failed == [] and summary.quarantined == {}, (summary.failed, summary.quarantined)
        out = tmp / f"export-{jobs}"
        export_drama(ctx, out)
        with ctx.db.session() as s:
            runs = list(s.execute(select(StepRun.step, StepRun.episode_id, StepRun.status, StepRun.dag_run_id)).all())
            left = len(list(s.scalars(select(StepLease))))
        assert {r.dag_run_id for r in runs} == {summary.dag_run_id}  # workers ran under the run's id
        assert {r.status for r in runs} == {"success"}
        return _tables(out), _annotations(ctx), sorted((r.step, r.episode_id) for r in runs), left
    finally:
        ctx.db.dispose()


def test_jobs_2_writes_the_same_rows_as_jobs_1(tmp_path: Path, sample_media: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(sample_media / "Megamind.avi", inputs / "ep01.avi")
    shutil.copy(sample_media / "vtest.avi", inputs / "ep02.avi")
    one = _run(tmp_path / "h1", inputs, 1, tmp_path)
    two = _run(tmp_path / "h2", inputs, 2, tmp_path)
    tables1, ann1, runs1, left1 = one
    tables2, ann2, runs2, left2 = two
    assert left1 == left2 == 0  # every lease released, the drama's too
    assert runs1 == runs2 and len(runs1) == 1 + 2 * 6 + 1  # ingest, 6 steps x 2 episodes, scenes
    eps = {r["episode_id"] for r in tables1["keyframes.parquet"]}
    assert eps == {"jobs--ep01", "jobs--ep02"}
    assert len(tables1["keyframes.parquet"]) >= 5
    assert {k for k, *_ in ann1} == {r["keyframe_id"] for r in tables1["keyframes.parquet"]}
    assert {kind for _, kind, *_ in ann1} >= {"ocr", "faces", "privacy", "shot_size", "keyinfo"}
    assert tables2.keys() == tables1.keys()
    for name in tables1:
        assert tables2[name] == tables1[name], name
    assert ann2 == ann1


def test_cli_jobs_option(tmp_path: Path, sample_media: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYSCRIPT_HOME", str(tmp_path / "home"))
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(sample_media / "Megamind.avi", d / "a.avi")
    shutil.copy(sample_media / "vtest.avi", d / "b.avi")
    runner = CliRunner()
    res = runner.invoke(cli, ["run", str(d), "--drama", "cli-jobs", "--steps", "probe,scan", "--jobs", "2", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "episodes: 2 (0 quarantined)" in res.output and "FAILED" not in res.output
    res = runner.invoke(cli, ["run", str(d), "--drama", "cli-jobs", "--jobs", "0"])
    assert res.exit_code == 2 and "--jobs" in res.output


def _write_many(url: str, worker: int, n: int) -> None:
    from skyscript.db import lineage
    from skyscript.db.engine import Database

    db = Database(url)
    for i in range(n):
        with db.session() as s:
            run_id = lineage.start_step_run(s, step="probe", step_version="1", drama_id="conc", episode_id=None,
                                            dag_run_id=f"w{worker}", try_number=1, host="h", params={"i": i})
        with db.session() as s:
            lineage.finish_step_run(s, run_id, "success", counts={"i": i})
    db.dispose()


def test_concurrent_sqlite_writers_do_not_fail(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    from skyscript.db.engine import Database

    db = Database(url)
    db.upgrade()
    spawn = mp.get_context("spawn")
    procs = [spawn.Process(target=_write_many, args=(url, w, 60)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with db.session() as s:
        rows = list(s.execute(select(StepRun.dag_run_id, StepRun.status)).all())
    db.dispose()
    assert len(rows) == 240 and {r.status for r in rows} == {"success"}
    assert sorted({r.dag_run_id for r in rows}) == ["w0", "w1", "w2", "w3"]
