"""The loss gate's one useful log line is not buried under Great Expectations' INFO chatter."""

from __future__ import annotations

import logging

import pytest

from skyscript.quality.gate import run_loss_gate


def test_gate_logs_its_verdict_and_gx_stays_quiet(ctx, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO)
    result = run_loss_gate(ctx, run_id="quiet")
    gx_lines = [r for r in caplog.records if r.name.startswith("great_expectations") and r.levelno < logging.WARNING]
    assert gx_lines == []
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("skyscript")]
    assert any(m.startswith("loss gate FAILED") for m in ours) and not result.passed
