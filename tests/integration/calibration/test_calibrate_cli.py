"""`skyscript calibrate` on a real pipeline run (Megamind from the sample media, offline models):
sample, review from the command line, report, gate (GX), rework and resample; bad input is a
one-line error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from statsmodels.stats.proportion import proportion_confint

from skyscript.cli import cli

pytestmark = pytest.mark.integration


def _ok(runner: CliRunner, *args: str) -> str:
    res = runner.invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.stdout


def test_calibrate_cli_on_a_real_run(tmp_path: Path, sample_media: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYSCRIPT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SKYSCRIPT_CALIBRATION__OVERLAP_SHARE", "0")
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(sample_media / "Megamind.avi", d / "Megamind.avi")
    runner = CliRunner()
    _ok(runner, "run", str(d), "--drama", "mega", "--no-progress")

    res = runner.invoke(cli, ["calibrate", "sample", "--drama", "nope"])
    assert res.exit_code == 1 and res.output.strip().splitlines()[-1] == (
        "Error: unknown drama 'nope': run it first (skyscript run ... --drama nope)"
    )
    res = runner.invoke(cli, ["calibrate", "report", "--batch", "cal-missing"])
    assert res.exit_code == 1 and "unknown batch 'cal-missing'" in res.output and "Traceback" not in res.output

    info = json.loads(_ok(runner, "calibrate", "sample", "--drama", "mega", "--seed", "5", "--json"))
    # Megamind's four shots give four valid keyframes; the default size (200) is capped there
    assert (info["size"], info["population"], info["requested_size"]) == (4, 4, 200)
    batch = info["batch_id"]
    status = json.loads(_ok(runner, "calibrate", "status", "--json"))
    assert [(b["batch_id"], b["packets"], b["reviewed"]) for b in status] == [(batch, 4, 0)]

    # the scripted reviewer: every emotion is wrong (rejected), one shot size fixed, the rest right
    packets = [f"{batch}--{i:04d}" for i in range(4)]
    total = wrong = 0
    for i, pid in enumerate(packets):
        lines = _ok(runner, "calibrate", "show", "--packet", pid).splitlines()[1:]
        keys = [ln.split()[0] for ln in lines]
        total += len(keys)
        decisions = [f"{k}=reject" for k in keys if k.endswith("/emotion")]
        if i == 0:
            decisions.append("shot_size:shot_type=fix:medium")
        wrong += len(decisions)
        out = _ok(runner, "calibrate", "review", "--packet", pid, "--reviewer", "ana", "--accept-rest", *decisions)
        assert "primary" in out and "keyinfo v2" in out
    rep = json.loads(_ok(runner, "calibrate", "report", "--batch", batch, "--json"))
    assert rep["overall"]["n"] == total and rep["overall"]["correct"] == total - wrong
    lo, hi = proportion_confint(total - wrong, total, alpha=0.05, method="wilson")
    assert (rep["overall"]["lower"], rep["overall"]["upper"]) == (round(lo, 6), round(hi, 6))
    assert rep["fields"]["person.emotion"]["correct"] == 0 and rep["complete"] is True
    text = _ok(runner, "calibrate", "accuracy", "--batch", batch)
    assert f"{total - wrong}/{total} items correct" in text and "gate FAILED" in text

    res = runner.invoke(cli, ["calibrate", "gate", "--batch", batch])
    assert res.exit_code == 1 and "accuracy gate FAILED: Wilson lower bound" in res.output
    assert (tmp_path / "home" / "store").exists()
    out = _ok(runner, "calibrate", "rework", "--batch", batch)
    assert "fields person.emotion, shot_size" in out and "steps shot_size, keyinfo" in out
    # every keyframe was drawn already: the next round draws them again, now with the corrections
    nxt = _ok(runner, "calibrate", "resample", "--batch", batch, "--seed", "6").strip()
    assert nxt != batch
    st = {b["batch_id"]: b for b in json.loads(_ok(runner, "calibrate", "status", "--json"))}
    assert st[batch]["status"] == "reworked" and (st[nxt]["round"], st[nxt]["parent"]) == (2, batch)
    for pid in (f"{nxt}--{i:04d}" for i in range(4)):
        show = _ok(runner, "calibrate", "show", "--packet", pid)
        assert "/emotion" not in show  # the rejected emotions are gone from the corrected versions
        _ok(runner, "calibrate", "review", "--packet", pid, "--reviewer", "ben", "--accept-rest")
    rep2 = json.loads(_ok(runner, "calibrate", "report", "--batch", nxt, "--json"))
    n2 = rep2["overall"]["n"]
    assert rep2["overall"]["correct"] == n2 and n2 < 35
    # all correct, but with fewer than 35 items even 100% has a 95% lower bound (n / (n + 1.96^2)) under 90%
    assert rep2["gate"]["passed"] is False and rep2["overall"]["lower"] < 0.9
    monkeypatch.setenv("SKYSCRIPT_CALIBRATION__GATE_ON", "point")
    res = runner.invoke(cli, ["calibrate", "gate", "--batch", nxt])
    assert res.exit_code == 0 and "accuracy gate passed: accuracy 100.00% >= 90%" in res.output
    res = runner.invoke(cli, ["calibrate", "review", "--packet", packets[0], "--reviewer", "ana", "bad-decision"])
    assert res.exit_code == 1 and "ITEM=accept|reject|fix:VALUE" in res.output

    # the auditor's view: the drama's loss gate as the DAG runs it, then Data Docs and the audit report
    from skyscript.config import Settings
    from skyscript.context import open_context
    from skyscript.quality.gate import run_loss_gate

    ctx = open_context(Settings(), "mega")
    assert run_loss_gate(ctx, run_id="manual-1").passed
    ctx.db.dispose()
    out = _ok(runner, "calibrate", "data-docs")
    # loss: summary + episodes of the gate `skyscript run` wrote and of this one; accuracy: two tables of each batch
    assert out.startswith("8 Data Docs pages")
    site = tmp_path / "home" / "store" / "public" / "reports" / "data-docs"
    assert {p.relative_to(site).as_posix() for p in site.rglob("*.html")} >= {
        "index.html", "loss/mega/manual-1/summary.html", "loss/mega/manual-1/episodes.html", f"accuracy/{nxt}/summary.html"}
    assert "expect_column_values_to_be_between" in (site / "loss/mega/manual-1/summary.html").read_text() or \
        "loss_rate" in (site / "loss/mega/manual-1/summary.html").read_text()
    res = runner.invoke(cli, ["calibrate", "audit", "--drama", "nope"])
    assert res.exit_code == 1 and "unknown drama 'nope'" in res.output
    key = _ok(runner, "calibrate", "audit", "--drama", "mega", "--out", str(tmp_path / "audit")).strip()
    assert key == "public/reports/mega/audit/index.html"
    audit = json.loads((tmp_path / "audit" / "audit.json").read_text())
    runs = [r["run_id"] for r in audit["loss_runs"]]  # the gate `skyscript run` wrote, then this one
    assert len(runs) == 2 and runs[0].startswith("local-") and runs[1] == "manual-1"
    assert [(c["batch_id"], c["status"]) for c in audit["calibration"]] == [(batch, "reworked"), (nxt, "passed")]
    assert "Audit report: drama mega" in (tmp_path / "audit" / "index.html").read_text()
