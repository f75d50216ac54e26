"""The services of a production run going away in the middle of a step, on Postgres and the S3
server: the S3 server stopped and started again on the same ports, and Postgres dropping every
connection of the run (``pg_terminate_backend``). Each test counts what the faulty run recorded,
then re-runs and compares every row and object key with a clean run of the same drama."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
from fixtures.drama_rows import Rows, cli_env, drama_rows, object_keys, row_diff, skyscript
from fixtures.polling import wait_for_row
from sqlalchemy import create_engine, text

from skyscript.devtools.s3server import SeaweedS3

DRAMA = "away"


def _new_database(pg_server: str) -> str:
    name = f"skyscript_fault_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_server.rsplit("/", 1)[0] + f"/{name}"


def _drop_database(pg_server: str, url: str) -> None:
    with psycopg.connect(pg_server.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _env(home: Path, db_url: str, s3: SeaweedS3, tag: str) -> dict[str, str]:
    return cli_env(
        home, SKYSCRIPT_DATABASE_URL=db_url, SKYSCRIPT_STORE_URL=s3.url, SKYSCRIPT_STORE_ACCESS_KEY=s3.access_key,
        SKYSCRIPT_STORE_SECRET_KEY=s3.secret_key, SKYSCRIPT_PRIVATE_BUCKET=f"priv-{tag}", SKYSCRIPT_PUBLIC_BUCKET=f"pub-{tag}",
    )


def _run_args(src: Path) -> list[str]:
    return ["run", str(src), "--drama", DRAMA, "--no-progress"]


def _start(src: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "skyscript.cli", *_run_args(src)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _step_runs(db_url: str) -> list[tuple[str, str, str]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as db:
            return [(r[0], r[1], r[2] or "") for r in db.execute(text("select step, status, error from step_run order by id"))]
    finally:
        engine.dispose()


def _losses(db_url: str) -> list[tuple[str, str, str]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as db:
            return sorted((r[0], r[1], r[2] or "") for r in db.execute(text("select step, reason, detail from loss")))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, src: Path, pg_server: str, s3_server: SeaweedS3) -> Iterator[tuple[Rows, dict[str, list[str]]]]:
    """Rows and object keys of a clean run of the drama on Postgres + the S3 server."""
    url = _new_database(pg_server)
    home = tmp_path_factory.mktemp("clean")
    env = _env(home, url, s3_server, uuid.uuid4().hex[:8])
    try:
        res = skyscript(_run_args(src), env)
        assert res.returncode == 0, res.stdout + res.stderr[-2000:]
        yield drama_rows(env, DRAMA, home / "export"), object_keys(env)
    finally:
        _drop_database(pg_server, url)


def _report(fault: str, runs: int, clean: Rows, got: Rows) -> tuple[int, int]:
    lost, dup = row_diff(clean, got)
    rows = sum(len(v) for v in clean.values())
    print(f"\nFAULT-TABLE | {fault} | runs {runs} | rows {rows} | lost {lost} | duplicated {dup}")
    return lost, dup


def test_s3_stopped_mid_step_and_restarted_then_rerun_equals_a_clean_run(
    src: Path, clean: tuple[Rows, dict[str, list[str]]], pg_url: str, tmp_path: Path
) -> None:
    s3 = SeaweedS3(data_dir=tmp_path / "s3").start()
    try:
        env = _env(tmp_path / "home", pg_url, s3, "down")
        endpoint = s3.endpoint
        first = _start(src, env)
        # the privacy step holds the episode's frames for seconds: the server goes away under it
        wait_for_row(pg_url, "select count(*) from step_run where step = 'privacy' and status = 'running'", writer=first)
        s3.stop()
        out, err = first.communicate(timeout=300)
        # it stays away until the run has ended (what the run records is then the same every
        # time), a few seconds in all; then it comes back where it was, with its objects
        s3.restart(down_s=2.0)
        assert s3.endpoint == endpoint

        assert first.returncode == 1, out + err[-3000:]
        assert "Traceback" not in err, err[-3000:]
        runs = _step_runs(pg_url)
        # privacy lost the store under it; the episode's later steps did not run; the drama
        # steps that need no object (characters and highlight find no faces yet) ran, the others
        # failed on the store; nothing was left running
        assert [(s, st) for s, st, _ in runs] == [
            ("ingest", "success"), ("probe", "success"), ("scan", "success"), ("text", "success"), ("privacy", "failed"),
            ("characters", "success"), ("highlight", "success"), ("scenes", "failed"), ("shooting_scripts", "failed"),
            ("script_pairs", "failed"), ("relationships", "failed"),
        ], runs
        failed = [s for s, st, _ in runs if st == "failed"]
        assert all(e.startswith("skyscript.store.base.StoreUnavailable: S3 server") for _, st, e in runs if st == "failed")
        losses = _losses(pg_url)
        assert [(step, reason) for step, reason, _ in losses] == sorted((s, "step_failed") for s in failed)
        assert all(d.startswith("StoreUnavailable: S3 server") for _, _, d in losses)
        lines = out.splitlines()
        assert [ln.split(":")[0].strip() for ln in lines if "FAILED" in ln] == [
            f"FAILED {s} {f'on {DRAMA}--megamind' if s == 'privacy' else '(drama)'}" for s in failed]
        assert lines[-3].startswith("  reports not written: S3 server"), out  # the summary is there all the same

        again = skyscript(_run_args(src), env)
        assert again.returncode == 0, again.stdout + again.stderr[-3000:]
        got = drama_rows(env, DRAMA, tmp_path / "export")
        assert _report("S3 stopped mid-step (privacy), restarted", 2, clean[0], got) == (0, 0)
        assert got == clean[0]
        assert object_keys(env) == clean[1]  # no orphan object, none missing
    finally:
        s3.close()


def test_postgres_connections_dropped_mid_step_then_rerun_equals_a_clean_run(
    src: Path, clean: tuple[Rows, dict[str, list[str]]], pg_url: str, s3_server: SeaweedS3, tmp_path: Path
) -> None:
    """Every connection of the run is dropped, a second into a step's work (text, then privacy if the
    run gets there). Where the run's pooled connections idle, the pool finds them dead before use
    (pool_pre_ping) and the run finishes as if nothing happened (without the ping, the step's next
    query failed with ``AdminShutdown`` and the episode stopped there). Where the drop falls inside
    a step's write (the text step's commit takes about a second: it happens), that step fails
    cleanly with its reason recorded and the run exits 1: the two outcomes the issue allows. Either
    way the re-run equals a clean run."""
    env = _env(tmp_path / "home", pg_url, s3_server, uuid.uuid4().hex[:8])
    name = pg_url.rsplit("/", 1)[1]
    first = _start(src, env)
    dropped: list[int] = []
    out = err = ""
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as admin:
        for step in ("text", "privacy"):
            try:
                wait_for_row(pg_url, f"select count(*) from step_run where step = '{step}'", writer=first)
            except AssertionError as exc:  # the run ended first: the earlier drop failed a step
                assert dropped, exc
                err = str(exc)
                break
            time.sleep(1.0)
            killed = admin.execute(
                "select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity "
                "where datname = %s and pid <> pg_backend_pid()", (name,)).fetchone()
            dropped.append(killed[0] if killed else 0)
    if first.returncode is None:
        out, err = first.communicate(timeout=300)
    assert dropped and all(n >= 1 for n in dropped), dropped  # each time the run had connections to lose
    assert "Traceback" not in err, err[-3000:]
    runs = _step_runs(pg_url)
    assert "running" not in {st for _, st, _ in runs}, runs
    if first.returncode == 0:
        assert {st for _, st, _ in runs} == {"success"} and len(runs) == 17, runs
    else:
        failed = [(step, error) for step, st, error in runs if st != "success"]
        assert failed and all("AdminShutdown" in error or "terminating connection" in error for _, error in failed), runs
        assert ("step_failed" in {reason for _, reason, _ in _losses(pg_url)}), _losses(pg_url)
    print(f"\nPostgres: {dropped} connections dropped, first run exit {first.returncode}")
    again = skyscript(_run_args(src), env)
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    got = drama_rows(env, DRAMA, tmp_path / "export")
    assert _report("Postgres connections dropped in text and privacy", 2, clean[0], got) == (0, 0)
    assert got == clean[0]
    assert object_keys(env) == clean[1]
