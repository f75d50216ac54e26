"""The whole local pipeline on real sample media plus bad inputs, on both databases:
bad files are quarantined with their reason, good ones finish, and a re-run duplicates nothing."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from skyscript.cli import cli
from skyscript.db import lineage
from skyscript.db.models import Annotation, Episode, Keyframe, Loss, Shot
from skyscript.pipeline import run_drama
from skyscript.context import StepContext

pytestmark = pytest.mark.integration


@pytest.fixture
def inputs(tmp_path: Path, sample_media: Path) -> Path:
    d = tmp_path / "input"
    d.mkdir()
    shutil.copy(sample_media / "Megamind.avi", d / "ep01.avi")
    (d / "ep02.mp4").write_bytes(b"")
    (d / "ep03.mp4").write_text("not a video at all\n" * 20)
    # a real video cut short: its header promises 795 frames, a few decode (found by the scan)
    (d / "ep04.avi").write_bytes((sample_media / "vtest.avi").read_bytes()[:200_000])
    return d


@pytest.fixture(params=["sqlite", "postgres"])
def dbctx(request: pytest.FixtureRequest) -> Iterator[StepContext]:
    yield request.getfixturevalue("ctx" if request.param == "sqlite" else "pg_ctx")


def _snapshot(c: StepContext) -> dict[str, object]:
    with c.db.session() as s:
        return {
            "counts": {k: v for k, v in lineage.table_counts(s, c.drama_id).items() if k != "step_run"},
            "episodes": sorted((e.id, e.status, e.error) for e in s.scalars(select(Episode))),
            "shots": sorted(s.scalars(select(Shot.id))),
            "keyframes": sorted(s.scalars(select(Keyframe.id))),
            "annotations": sorted(s.execute(select(Annotation.keyframe_id, Annotation.kind, Annotation.version)).all()),
            "losses": sorted(s.execute(select(Loss.step, Loss.item_id, Loss.reason)).all()),
        }


def test_bad_inputs_quarantined_good_ones_finish_and_rerun_duplicates_nothing(dbctx: StepContext, inputs: Path) -> None:
    first = run_drama(dbctx, [str(inputs)])
    assert first.quarantined == {
        "test-drama--ep02": "empty_file: ep02.mp4 is 0 bytes",
        "test-drama--ep03": "not_a_video: ep03.mp4: not a readable video container (InvalidDataError)",
        "test-drama--ep04": "truncated: ep04.avi: 6 frames decode, the header promises 795",
    }
    assert first.failed == []  # a quarantine found by the scan is not a failed step either
    with dbctx.db.session() as s:
        good = s.get(Episode, "test-drama--ep01")
        assert (good.status, good.frame_count, good.width, good.height) == ("ok", 270, 720, 528)
        reasons = sorted((lo.item_id, lo.reason) for lo in lineage.losses_of(s, "test-drama") if lo.item_kind == "episode")
    assert reasons == [("test-drama--ep02", "empty_file"), ("test-drama--ep03", "not_a_video"), ("test-drama--ep04", "truncated")]
    assert first.loss is not None and first.loss.episodes == 4 and first.loss.episodes_lost == 3
    snap1 = _snapshot(dbctx)

    second = run_drama(dbctx, [str(inputs)])
    assert second.dag_run_id != first.dag_run_id
    assert _snapshot(dbctx) == snap1
    ingest = next(r for r in second.results if r.step == "ingest")
    assert ingest.counts["unchanged"] == 4 and ingest.counts["new"] == 0


def test_cli_run_status_export_and_trace(tmp_path: Path, sample_media: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYSCRIPT_HOME", str(tmp_path / "home"))
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(sample_media / "Megamind.avi", d / "Megamind.avi")
    runner = CliRunner()
    res = runner.invoke(cli, ["run", str(d), "--drama", "mega", "--no-progress"])
    assert "lineage database: sqlite:///" in res.output, res.output
    res = runner.invoke(cli, ["status", "--drama", "mega"])
    assert res.exit_code == 0 and "drama mega" in res.output and "episode 1" in res.output
    out = tmp_path / "export"
    res = runner.invoke(cli, ["export", "--drama", "mega", "--out", str(out), "--frames"])
    assert res.exit_code == 0, res.output
    eps = pq.read_table(out / "episodes.parquet").to_pylist()
    assert [(e["episode_id"], e["source_name"], e["status"], e["frame_count"]) for e in eps] == [
        ("mega--megamind", "Megamind.avi", "ok", 270)
    ]
    kfs = pq.read_table(out / "keyframes.parquet")
    for col in ("episode_id", "shot_index", "frame_index", "valid", "invalid_reason", "shot_type",
                "text_area_ratio", "has_subtitle", "face_count", "frame_file"):
        assert col in kfs.column_names
    for row in kfs.to_pylist():
        if row["frame_file"]:
            assert (out / row["frame_file"]).is_file()
            assert "/private/" not in row["frame_file"]
    # the embedded default has no VLM: key information comes from offline models, marked as such
    ki = pq.read_table(out / "keyinfo.parquet").to_pylist()
    people = [r for r in ki if r["kind"] == "person"]
    assert people, "no person rows in keyinfo.parquet"
    assert {r["origin"] for r in ki} == {"offline"}
    assert all(r["source"] != "vlm" and r["face_box"] for r in people)
    assert {r["frame_index"] for r in ki} <= {r["frame_index"] for r in kfs.to_pylist() if r["valid"]}
    res = runner.invoke(cli, ["step", "nope", "--drama", "mega"])
    assert res.exit_code == 2 and "unknown step 'nope'" in res.output
    res = runner.invoke(cli, ["trace", "mega--megamind--f9999999"])
    assert res.exit_code == 1 and "no keyframe" in res.output


def test_cli_run_names_an_unreachable_source_and_exits_1(tmp_path: Path, sample_media: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYSCRIPT_HOME", str(tmp_path / "home"))
    good = tmp_path / "ep01.avi"
    shutil.copy(sample_media / "Megamind.avi", good)
    missing = tmp_path / "crawl-2026-12-01"
    runner = CliRunner()
    res = runner.invoke(cli, ["run", str(good), str(missing), "--drama", "partial", "--steps", "probe,scan", "--no-progress"])
    assert res.exit_code == 1, res.output
    [line] = [x for x in res.output.splitlines() if "UNREACHABLE" in x]
    assert line == f"  UNREACHABLE {missing}: no such file or folder"
    assert "FAILED" not in res.output and "episodes: 1 (0 quarantined)" in res.output  # the good episode still ran
    # a later run without the bad source is clean again: ingest's source losses are per run
    res = runner.invoke(cli, ["run", str(good), "--drama", "partial", "--steps", "probe,scan", "--no-progress"])
    assert res.exit_code == 0 and "UNREACHABLE" not in res.output, res.output
