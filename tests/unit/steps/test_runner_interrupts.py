"""An interruption (SIGTERM turned into SystemExit, ^C) that lands while the runner opens a step
run, after the row was committed but before the runner had its id, still ends the row as
interrupted: nothing is left ``running`` for ``status`` to show and a re-run to trip over."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).parent))

import example_steps  # noqa: E402
from skyscript.context import StepContext  # noqa: E402
from skyscript.db import lineage  # noqa: E402
from skyscript.db.models import StepLease, StepRun  # noqa: E402
from skyscript.steps.registry import STEPS, Pipeline  # noqa: E402
from skyscript.steps.runner import run_step  # noqa: E402

EXAMPLES = ("example_steps:BrightnessStep", "example_steps:DramaBrightnessStep")


@pytest.mark.parametrize("interruption", [SystemExit, KeyboardInterrupt])
def test_an_interruption_just_after_the_step_run_commits_still_ends_it(
    ctx: StepContext, monkeypatch: pytest.MonkeyPatch, interruption: type[BaseException]
) -> None:
    opened = lineage.start_step_run

    def open_then_interrupt(session: Session, **fields: Any) -> int:
        run_id = opened(session, **fields)

        @event.listens_for(session, "after_commit", once=True)
        def _signal_arrives(_s: Session) -> None:  # the row is in the database, the runner has no id yet
            raise interruption(143) if interruption is SystemExit else interruption()

        return run_id

    monkeypatch.setattr(lineage, "start_step_run", open_then_interrupt)
    with pytest.raises(interruption):
        run_step(example_steps.DramaBrightnessStep(), ctx, None, kinds=Pipeline(STEPS + EXAMPLES).kinds())
    with ctx.db.session() as s:
        runs = [(r.step, r.status, r.error) for r in s.scalars(select(StepRun))]
        leases = list(s.scalars(select(StepLease)))
    assert runs == [("drama_brightness", "failed", f"interrupted ({interruption.__name__}): the run was stopped")]
    assert leases == []
