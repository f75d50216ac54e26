"""The step contract: kinds and the graph, a new step joining by one module and one registry line,
the runner validating payloads and owning the writes, models set up once per batch, drama steps
running after the episode steps, typed parameters recorded in lineage."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))

import example_steps  # noqa: E402
from skyscript.cli import cli  # noqa: E402
from skyscript.context import StepContext  # noqa: E402
from skyscript.db import lineage  # noqa: E402
from skyscript.db.models import Annotation, Drama, StepRun  # noqa: E402
from skyscript.errors import ParamsError  # noqa: E402
from skyscript.pipeline import run_drama  # noqa: E402
from skyscript.steps import registry  # noqa: E402
from skyscript.steps.registry import STEPS, Pipeline  # noqa: E402
from skyscript.steps.runner import resolve_params, run_step  # noqa: E402

EXAMPLES = ("example_steps:BrightnessStep", "example_steps:DramaBrightnessStep")


def test_every_kind_a_step_reads_is_written_before_it_and_owned_once() -> None:
    pipe = registry.PIPELINE
    assert pipe.problems() == []
    kinds = pipe.kinds()
    assert {k: pipe.owner(k) for k in kinds} == {
        "ocr": "text", "faces": "privacy", "privacy": "privacy", "shot_size": "shot_size", "keyinfo": "keyinfo",
        "depth": "depth", "pose": "pose", "layout": "layout", "emotion": "emotion", "characters": "characters",
        "highlight": "highlight",
    }
    after = {s.name: set(s.after) for s in pipe.specs}
    assert after["privacy"] >= {"text", "scan"} and after["shot_size"] >= {"privacy"}
    # depth-and-pose style independence: shot size and key information only share their upstreams
    assert "shot_size" not in after["keyinfo"] and "keyinfo" not in after["shot_size"]


def test_the_graph_check_catches_a_reader_placed_before_its_writer() -> None:
    pipe = Pipeline(("example_steps:DramaBrightnessStep", *STEPS, "example_steps:BrightnessStep"))
    problems = pipe.problems()
    assert any("drama_brightness reads 'brightness', which no earlier step writes (only brightness, later)" in p
               for p in problems), problems


def test_a_new_step_joins_by_one_module_and_one_registry_line() -> None:
    pipe = Pipeline(STEPS + EXAMPLES)
    assert pipe.problems() == []
    assert pipe.owner("brightness") == "brightness"
    assert pipe.get("brightness").after == ("scan",)
    built_in = {s.name for s in registry.PIPELINE.drama_steps()}
    assert [s.name for s in pipe.drama_steps() if s.name not in built_in] == ["drama_brightness"]
    assert pipe.get("drama_brightness").after == ("brightness",)


def test_extra_steps_join_through_the_environment() -> None:
    pipe = Pipeline.default({registry.EXTRA_ENV: ",".join(EXAMPLES)})
    assert pipe.names()[-2:] == ["brightness", "drama_brightness"]


def test_drama_steps_run_after_every_episode_step(ctx: StepContext, sample_media: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("Megamind.avi", "vtest.avi"):
        (src / name).symlink_to(sample_media / name)
    example_steps.BrightnessStep.setups = 0
    summary = run_drama(ctx, [str(src)], steps=["ingest", "probe", "scan", "brightness", "drama_brightness"],
                        pipeline=Pipeline(STEPS + EXAMPLES))
    assert summary.ok and summary.failed == []
    assert example_steps.BrightnessStep.setups == 1  # one set-up for both episodes
    with ctx.db.session() as s:
        runs = [(r.step, r.episode_id) for r in s.scalars(select(StepRun).order_by(StepRun.id))]
        marks = list(s.scalars(select(Annotation).where(Annotation.kind == "brightness")))
        title = s.get(Drama, ctx.drama_id).title  # type: ignore[union-attr]
    assert runs[-1] == ("drama_brightness", None)
    assert max(i for i, r in enumerate(runs) if r[0] == "brightness") < len(runs) - 1
    assert len(marks) == 5 and all(0 < m.payload["mean"] < 255 for m in marks)
    mean = sum(m.payload["mean"] for m in marks) / len(marks)
    assert title == f"brightness {mean:.1f}"


def test_the_runner_validates_payloads_and_writes_nothing_from_a_bad_one(ctx: StepContext, sample_media: Path) -> None:
    run_drama(ctx, [str(sample_media / "vtest.avi")], steps=["ingest", "probe", "scan"])
    ep = f"{ctx.drama_id}--vtest"
    ctx.params = {"brightness": {"scale": 10.0}}  # the mean times 10 leaves the payload's 0-255 range
    res = run_step(example_steps.BrightnessStep(), ctx, ep, kinds=Pipeline(STEPS + EXAMPLES).kinds())
    assert res.status == "failed" and "less than or equal to 255" in (res.error or "")
    with ctx.db.session() as s:
        assert list(s.scalars(select(Annotation).where(Annotation.kind == "brightness"))) == []
        assert [(lo.step, lo.reason) for lo in lineage.losses_of(s, ctx.drama_id)] == [("brightness", "step_failed")]
    ctx.params = {}
    res = run_step(example_steps.BrightnessStep(), ctx, ep, kinds=Pipeline(STEPS + EXAMPLES).kinds())
    assert res.status == "success" and res.counts == {"measured": 1, "lost": 0}
    with ctx.db.session() as s:
        assert lineage.losses_of(s, ctx.drama_id) == []  # the success cleared the failure
        run = s.get(StepRun, res.step_run_id)
        assert run is not None and run.params == {"scale": 1.0} and run.model_id == "numpy mean"


def test_parameters_come_from_settings_overrides_and_are_checked(ctx: StepContext) -> None:
    from skyscript.steps.text import TextStep

    assert resolve_params(TextStep(), ctx.settings, {}).ocr_max_side == 480  # type: ignore[attr-defined]
    ctx.settings.text.ocr_max_side = 800
    assert resolve_params(TextStep(), ctx.settings, {}).ocr_max_side == 800  # type: ignore[attr-defined]
    p = resolve_params(TextStep(), ctx.settings, {"text.ocr_max_side": "960", "keyinfo.max_tokens": "10"})
    assert p.ocr_max_side == 960  # type: ignore[attr-defined]
    with pytest.raises(ParamsError, match="ocr_max_side"):
        resolve_params(TextStep(), ctx.settings, {"text": {"ocr_max_side": 10}})  # below its minimum of 320


def test_step_batch_builds_the_ocr_engine_once_and_records_its_params(
    sample_media: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from skyscript.video import ocr

    built: list[int] = []
    real_init = ocr.OcrEngine.__init__

    def counting_init(self, *a, **kw):  # type: ignore[no-untyped-def]
        built.append(1)
        real_init(self, *a, **kw)

    monkeypatch.setattr(ocr.OcrEngine, "__init__", counting_init)
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):  # three episodes (same picture, different names: ingest keeps one per content)
        (src / f"ep{i}.avi").write_bytes((sample_media / "vtest.avi").read_bytes() + bytes([i]))
    runner = CliRunner()
    res = runner.invoke(cli, ["run", str(src), "--drama", "three", "--steps", "ingest,probe,scan", "--no-progress"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["step", "text", "--drama", "three", "--episodes", "three--ep0 three--ep1,three--ep2",
                              "--param", "ocr_max_side=800"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.output.splitlines() if x.startswith("{")]
    assert [(x["episode"], x["status"]) for x in lines] == [(f"three--ep{i}", "success") for i in range(3)]
    assert len(built) == 1
    from skyscript.config import Settings
    from skyscript.context import open_context

    c = open_context(Settings(), "three")
    with c.db.session() as s:
        params = [r.params for r in s.scalars(select(StepRun).where(StepRun.step == "text"))]
    c.db.dispose()
    assert [p["ocr_max_side"] for p in params] == [800, 800, 800]


def test_a_bad_param_is_a_usage_error_before_any_work(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["step", "text", "--drama", "d", "--episode", "d--x", "--param", "ocr_max_side=big"])
    assert res.exit_code == 2 and "ocr_max_side" in res.output and "Traceback" not in res.output
    res = runner.invoke(cli, ["run", str(tmp_path), "--drama", "d", "--param", "max_tokens=5"])
    assert res.exit_code == 2 and "name the step" in res.output
    res = runner.invoke(cli, ["run", str(tmp_path), "--drama", "d", "--param", "keyinfo.max_tokens=5"])
    assert res.exit_code == 2 and "max_tokens" in res.output  # below the model's minimum of 128


def test_steps_prints_the_graph() -> None:
    res = CliRunner().invoke(cli, ["steps", "--params"])
    assert res.exit_code == 0
    assert "after: scan, text" in res.output  # privacy
    assert "annotation kinds: ocr v1 (text), faces v2 (privacy)" in res.output
    assert "ocr_max_side = 480" in res.output and "[SKYSCRIPT_TEXT__*]" in res.output
