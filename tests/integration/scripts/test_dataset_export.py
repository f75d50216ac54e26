"""The dataset as users open it, on real Postgres: a generated episode through the CPU stage,
scenes, shooting scripts and restorations by the stand-in LLM, then `skyscript export`: the card
read back against the database, the plots decode, the manifest's digests hold, Hugging Face
`datasets` loads the pairs, scripts and keyframes, WebDataset shards read back, and a pair traces
to its source file in one query."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import cv2
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "scripts"))

from llm_standin import ScriptLLM  # noqa: E402
from script_fixtures import dialogue_episode, keyinfo_two_people  # noqa: E402
from skyscript.context import StepContext  # noqa: E402
from skyscript.db import lineage  # noqa: E402
from skyscript.db.pairs import is_pair_id, trace_pair  # noqa: E402
from skyscript.export import export_drama  # noqa: E402
from skyscript.pipeline import run_drama  # noqa: E402
from skyscript.scripts.restore import pair_id  # noqa: E402

pytestmark = pytest.mark.integration
N = 4


@pytest.fixture
def llm() -> Iterator[ScriptLLM]:
    server = ScriptLLM().start()
    yield server
    server.stop()


@pytest.fixture
def exported(pg_ctx: StepContext, tmp_path: Path, llm: ScriptLLM) -> tuple[StepContext, Path]:
    ctx = pg_ctx
    src = dialogue_episode(tmp_path / "ep1.avi")
    assert run_drama(ctx, [str(src)], steps=["ingest", "probe", "scan", "text", "privacy"]).failed == []
    info = keyinfo_two_people().model_dump(mode="json")
    with ctx.db.session() as s:
        for kf in lineage.keyframes_of(s, f"{ctx.drama_id}--ep1"):
            lineage.put_annotation(s, kf.id, "keyinfo", info, "vlm:test", None)
    ctx.settings.llm.url, ctx.settings.llm.model = llm.url, llm.model
    c = replace(ctx, params={"script_pairs": {"restorations": N, "embeddings": False}})
    summary = run_drama(c, [str(src)], steps=["ingest", "scenes", "shooting_scripts", "script_pairs"])
    assert summary.failed == [], summary.failed
    out = tmp_path / "export"
    export_drama(ctx, out, with_frames=True)
    return ctx, out


def test_card_plots_and_manifest_read_back(exported: tuple[StepContext, Path]) -> None:
    ctx, out = exported
    card = (out / "README.md").read_text()
    row = re.search(r"^\| (\d+) \| (\d+) \| (\d+) \| (\d+) \| ([\d.]+) \| (\w+) \| (\d+) \| (\d+) \|$", card, re.M)
    assert row is not None, card
    with ctx.db.session() as s:
        ep = lineage.episodes_of(s, ctx.drama_id)[0]
        shots = lineage.shots_of(s, ep.id)
        kfs = lineage.keyframes_of(s, ep.id)
    assert row.groups() == ("1", "1", str(len(shots)), str(len(kfs)), str(round(ep.duration_s / 3600, 4)),
                            f"{min(ep.width, ep.height)}P", "3", str(3 * N))
    assert "| loss rate | <= 4% |" in card and "config_name: pairs" in card
    for name in ("resolution", "aspect_ratio", "shot_lengths", "shot_sizes", "camera_movements", "highlight"):
        img = cv2.imread(str(out / "plots" / f"{name}.png"))
        assert img is not None and img.shape[0] > 100 and f"plots/{name}.png" in card
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["drama_id"] == ctx.drama_id and manifest["settings_digest"].startswith("sha256:")
    assert manifest["models"]["script_pairs"]["prompt_digest"].startswith("sha256:")
    for rel, meta in manifest["files"].items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == meta["sha256"], rel
    assert {"pairs.jsonl", "shooting_scripts.jsonl", "README.md", "shooting_script.schema.json"} <= set(manifest["files"])
    assert len([f for f in manifest["files"] if f.endswith(".fountain")]) == 3


def test_hugging_face_datasets_loads_pairs_scripts_and_keyframes(exported: tuple[StepContext, Path]) -> None:
    from datasets import load_dataset

    _, out = exported
    cache = out.parent / "hf-cache"
    pairs = load_dataset("json", data_files=str(out / "pairs.jsonl"), split="train", cache_dir=str(cache))
    assert pairs.num_rows == 3 * N
    assert set(pairs.column_names) >= {"pair_id", "script_id", "restoration_index", "script", "model", "prompt_digest",
                                       "seed", "temperature"}
    assert pairs[0]["pair_id"] == pair_id(pairs[0]["script_id"], pairs[0]["restoration_index"])
    scripts = load_dataset("json", data_files=str(out / "shooting_scripts.jsonl"), split="train", cache_dir=str(cache))
    shot = scripts[0]["shots"][0]
    assert scripts.num_rows == 3 and shot["camera_detail"]["time_s"]["source"] == "model"
    assert shot["shot_size"]["value"] is None and shot["shot_size"]["missing"].startswith("shot_size step has not run")
    kf = load_dataset("parquet", data_files=str(out / "keyframes.parquet"), split="train", cache_dir=str(cache))
    assert kf.num_rows == 6


def test_webdataset_shards_hold_masked_jpeg_and_json(exported: tuple[StepContext, Path]) -> None:
    import webdataset as wds

    ctx, out = exported
    shards = sorted(str(p) for p in (out / "webdataset").glob("*.tar"))
    samples = list(wds.WebDataset(shards, shardshuffle=False).decode("rgb8").to_tuple("__key__", "jpg", "json"))
    with ctx.db.session() as s:
        published = [k for k in lineage.keyframes_of(s, f"{ctx.drama_id}--ep1") if k.public_key]
    assert [k for k, _, _ in samples] == [k.id for k in published]
    key, img, meta = samples[0]
    assert img.ndim == 3 and img.shape[2] == 3 and meta["keyframe_id"] == key
    assert meta["script_id"].endswith("--sc0001") and meta["keyinfo"]["people"][0]["gender"] == "female"


def test_trace_of_a_pair_reaches_the_source_file(exported: tuple[StepContext, Path]) -> None:
    ctx, out = exported
    first = json.loads((out / "pairs.jsonl").read_text().splitlines()[0])
    assert is_pair_id(first["pair_id"]) and not is_pair_id(f"{ctx.drama_id}--ep1--f0000012")
    with ctx.db.session() as s:
        t = trace_pair(s, first["pair_id"])
    assert t["source_file"].endswith("ep1.avi") and t["episode"]["id"] == f"{ctx.drama_id}--ep1"
    assert t["scene"]["script_id"] == first["script_id"] and [sh["shot_index"] for sh in t["shots"]] == [0, 1, 2, 3]
    assert len(t["keyframes"]) == 4 and {a["kind"] for a in t["annotations"]} >= {"keyinfo", "faces", "ocr"}
    steps = {r["step"] for r in t["step_runs"]}
    assert {"scan", "privacy", "scenes", "shooting_scripts", "script_pairs"} <= steps
    assert t["prompt_digest"] == first["prompt_digest"] and t["restoration"]["done"] == N
    with pytest.raises(LookupError, match="no shots of scene 9"):
        with ctx.db.session() as s:
            trace_pair(s, f"{ctx.drama_id}--ep1--sc0009--r0000")
