"""kill -9 and SIGTERM at every registered step of `skyscript run`, then a re-run.

One short generated episode (a real face under a burnt-in subtitle, then a plain shot: every
step has something to write) goes through a chain of runs per signal: the first run is hit
in ``ingest``, the next one recovers that step and is hit in ``probe``, and so on down the
registry (a step added there is covered without touching this file), then one run finishes.
The hit comes from the deterministic fault hook (``SKYSCRIPT_FAULT_KILL=STEP@1:KILL|TERM``,
:mod:`skyscript.steps.faults`): right after the step committed its outputs, before its step
run was finished, the worst moment. A chain costs one run per step; a clean run and a re-run
per step and signal would cost three times as much for the same evidence.

Per step: the run died there, with what that signal leaves behind (kill -9: the step run
``running`` and the leases held; SIGTERM: the step run ``interrupted``, no lease), and the next
run redid the step instead of taking its half-finished run as done. Per signal: the finished
drama's rows, objects and leases are exactly a clean run's, and no half-written object is left.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import pytest
from fixtures.drama_rows import Rows, cli_env, drama_rows, object_keys, row_diff, skyscript
from fixtures.videos import subtitled_portrait_clip

from skyscript.steps import registry
from skyscript.steps.faults import FAULT_ENV

DRAMA = "every-step"
PIPE = registry.Pipeline.default({})  # what `skyscript run` runs with no plugin steps
STEPS = PIPE.names()
RC = {"KILL": -signal.SIGKILL, "TERM": 128 + signal.SIGTERM}


@dataclass
class Hit:
    """One run of the chain, hit in ``step``, and what it left in the lineage database."""

    step: str
    returncode: int
    stderr: str
    running: list[tuple[str, str | None]]  # step runs left running
    leases: list[tuple[str, str]]  # (step, episode) leases left held


@dataclass
class Chain:
    signal: str
    home: Path
    hits: dict[str, Hit] = field(default_factory=dict)
    final: subprocess.CompletedProcess[str] | None = None
    step_runs: list[tuple[str, str | None, str, str | None]] = field(default_factory=list)  # in start order


def _run_args(src: Path) -> list[str]:
    return ["run", str(src), "--drama", DRAMA, "--no-progress"]


@pytest.fixture(scope="module")
def src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from skimage import data

    d = tmp_path_factory.mktemp("every-src")
    portrait = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[:384, :]
    subtitled_portrait_clip(d / "ep01.avi", portrait, "WHERE WERE YOU")
    return d


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, src: Path) -> tuple[Rows, dict[str, list[str]]]:
    home = tmp_path_factory.mktemp("every-clean")
    env = cli_env(home)
    res = skyscript(_run_args(src), env)
    assert res.returncode == 0, res.stdout + res.stderr[-3000:]
    return drama_rows(env, DRAMA, home / "export"), object_keys(env)


@pytest.fixture(scope="module", params=["KILL", "TERM"])
def chain(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, src: Path) -> Chain:
    sig: str = request.param
    out = Chain(sig, tmp_path_factory.mktemp(f"every-{sig.lower()}"))
    env = cli_env(out.home)
    db = out.home / "lineage.db"
    for step in STEPS:
        res = skyscript(_run_args(src), {**env, FAULT_ENV: f"{step}@1:{sig}"})
        with sqlite3.connect(db) as conn:
            running = conn.execute("select step, episode_id from step_run where status = 'running'").fetchall()
            leases = conn.execute("select step, episode_id from step_lease order by step").fetchall()
        out.hits[step] = Hit(step, res.returncode, res.stderr, running, leases)
    out.final = skyscript(_run_args(src), env)
    with sqlite3.connect(db) as conn:
        out.step_runs = conn.execute("select step, episode_id, status, error from step_run order by id").fetchall()
    return out


@pytest.mark.parametrize("step", STEPS)
def test_the_run_dies_in_the_step_and_the_next_run_redoes_it(chain: Chain, step: str) -> None:
    hit = chain.hits[step]
    assert hit.returncode == RC[chain.signal], hit.stderr[-3000:]
    told = "killing" if chain.signal == "KILL" else "sending SIGTERM to"
    assert f"fault injection: {told} {step} on " in hit.stderr
    assert "Traceback" not in hit.stderr, hit.stderr[-3000:]
    if chain.signal == "KILL":
        # what a lost node leaves: the step run open, the step's and the run's leases held
        [(running, episode)] = hit.running
        assert running == step
        assert sorted(s for s, _ in hit.leases) == sorted(["__run__", step])
    else:  # an orderly stop: nothing left open or held
        assert (hit.running, hit.leases) == ([], [])
    ends = {"KILL": "killed: its lease was taken over by run ", "TERM": "interrupted (SystemExit): the run was stopped"}
    unit = None if PIPE.get(step).scope == "drama" else f"{DRAMA}--ep01"
    runs = [(status, error) for s, ep, status, error in chain.step_runs if s == step and ep == unit]
    failed = [i for i, (status, _) in enumerate(runs) if status == "failed"]
    assert len(failed) == 1, runs  # the hit, and nothing else failed
    assert (runs[failed[0]][1] or "").startswith(ends[chain.signal]), runs[failed[0]]
    # the next run did the step again (its outputs were written, but its run never ended)
    assert runs[failed[0] + 1][0] == "success", runs
    assert runs[-1][0] in ("success", "unchanged"), runs


def test_after_a_hit_in_every_step_the_rerun_equals_a_clean_run(
    chain: Chain, clean: tuple[Rows, dict[str, list[str]]]
) -> None:
    assert chain.final is not None and chain.final.returncode == 0, (
        chain.final.stdout + chain.final.stderr[-3000:] if chain.final else "no final run")
    env = cli_env(chain.home)
    got = drama_rows(env, DRAMA, chain.home / "export")
    lost, dup = row_diff(clean[0], got)
    what = "kill -9" if chain.signal == "KILL" else "SIGTERM"
    print(f"\nFAULT-TABLE | {what} in each of the {len(STEPS)} steps in turn ({STEPS[0]} ... {STEPS[-1]}) | runs "
          f"{len(STEPS) + 1} | rows {sum(len(v) for v in clean[0].values())} | lost {lost} | duplicated {dup}")
    assert got == clean[0]  # leases and running step runs included: none in either
    assert object_keys(env) == clean[1]  # no orphan object, none missing
    assert sorted((chain.home / "store").rglob("*.part")) == []
