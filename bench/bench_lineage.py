"""Load synthetic lineage at corpus scale into a real Postgres and time the queries the CLI runs.

    python bench/bench_lineage.py [--keyframes N] [--admin-url URL] [--keep]

Creates its own database (``skyscript_bench_<pid>``) on the server of ``--admin-url`` (default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres), brings it to the current schema with the
project's migrations (indexes included), loads dramas, episodes, shots, keyframes, annotations,
losses and step runs with ``INSERT ... SELECT generate_series`` in the paper's proportions (10M
keyframes : 80,000 episodes : 6,660 dramas, so 125 keyframes an episode, 12 episodes a drama),
prints the load rate, then the time of ``trace`` of a keyframe and of a script pair, ``status`` of a drama (its table
counts and step-run summary) and the loss gate of a drama (best of 5), and drops the database.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

KEYFRAMES_PER_EPISODE = 125  # 10M keyframes / 80k episodes (seed 001)
EPISODES_PER_DRAMA = 12  # 80k episodes / 6,660 dramas
KINDS = ("ocr", "faces", "privacy", "shot_size", "keyinfo")
STEPS = ("probe", "scan", "text", "privacy", "shot_size", "keyinfo")
DRAMA_STEPS = ("scenes", "shooting_scripts", "script_pairs")
SHOTS_PER_SCENE = 5


@dataclass(frozen=True)
class Scale:
    keyframes: int
    episodes: int
    dramas: int

    @classmethod
    def of(cls, keyframes: int) -> Scale:
        if keyframes < KEYFRAMES_PER_EPISODE * EPISODES_PER_DRAMA:
            raise ValueError(f"--keyframes must be at least {KEYFRAMES_PER_EPISODE * EPISODES_PER_DRAMA}")
        episodes = keyframes // KEYFRAMES_PER_EPISODE
        return cls(episodes * KEYFRAMES_PER_EPISODE, episodes, -(-episodes // EPISODES_PER_DRAMA))


def load_statements(scale: Scale) -> list[tuple[str, str]]:
    """(table, SQL) in load order. Ids follow the project's scheme: drama ``dNNNNN``, episode
    ``<drama>--eNNN``, shot ``<episode>--sNNNN``, keyframe ``<episode>--fNNNNNNN``; one keyframe
    per shot, five shots a scene, one shooting script (restoration state) per scene; one annotation
    per kind per keyframe; one loss per 40 keyframes; one step run per episode step and episode and
    per drama step and drama. Episode ``e`` belongs to drama ``e / 12``."""
    k, e, d = KEYFRAMES_PER_EPISODE, scale.episodes, scale.dramas
    ep = "('d' || lpad(((g - 1) / {n})::text, 5, '0') || '--e' || lpad(((g - 1) % {n})::text, 3, '0'))"
    ep_of = f"""('d' || lpad((((g - 1) / {k}) / {EPISODES_PER_DRAMA})::text, 5, '0') || '--e' ||
                 lpad((((g - 1) / {k}) % {EPISODES_PER_DRAMA})::text, 3, '0'))"""
    scenes = k // SHOTS_PER_SCENE
    ep_sc = f"""('d' || lpad((((g - 1) / {scenes}) / {EPISODES_PER_DRAMA})::text, 5, '0') || '--e' ||
                 lpad((((g - 1) / {scenes}) % {EPISODES_PER_DRAMA})::text, 3, '0'))"""
    drama_steps = "ARRAY[" + ",".join(f"'{s}'" for s in DRAMA_STEPS) + "]"
    steps = "ARRAY[" + ",".join(f"'{s}'" for s in STEPS) + "]"
    kinds = "ARRAY[" + ",".join(f"'{s}'" for s in KINDS) + "]"
    return [
        ("drama", f"INSERT INTO drama (id, title, created_at) SELECT 'd' || lpad((g - 1)::text, 5, '0'), "
                  f"'drama ' || g, now() FROM generate_series(1, {d}) g"),
        ("episode", f"INSERT INTO episode (id, drama_id, source_uri, source_name, status, fps, frame_count, width, height, "
                    f"duration_s, codec, created_at, updated_at) SELECT {ep.format(n=EPISODES_PER_DRAMA)}, "
                    f"'d' || lpad(((g - 1) / {EPISODES_PER_DRAMA})::text, 5, '0'), 'file:///crawl/' || g || '.mp4', "
                    f"g || '.mp4', CASE WHEN g % 50 = 0 THEN 'quarantined' ELSE 'ok' END, 24, 2160, 1280, 720, 90, 'h264', "
                    f"now(), now() FROM generate_series(1, {e}) g"),
        ("step_run", f"INSERT INTO step_run (step, step_version, drama_id, episode_id, dag_run_id, try_number, status, "
                     f"started_at, finished_at, duration_s) SELECT ({steps})[1 + (g - 1) % {len(STEPS)}], '1', "
                     f"'d' || lpad((((g - 1) / {len(STEPS)}) / {EPISODES_PER_DRAMA})::text, 5, '0'), "
                     f"'d' || lpad((((g - 1) / {len(STEPS)}) / {EPISODES_PER_DRAMA})::text, 5, '0') || '--e' || "
                     f"lpad((((g - 1) / {len(STEPS)}) % {EPISODES_PER_DRAMA})::text, 3, '0'), 'bench', 1, "
                     f"CASE WHEN g % 997 = 0 THEN 'failed' ELSE 'success' END, now(), now(), 1.5 "
                     f"FROM generate_series(1, {e * len(STEPS)}) g"),
        ("step_run", f"INSERT INTO step_run (step, step_version, drama_id, episode_id, dag_run_id, try_number, status, "
                     f"started_at, finished_at, duration_s) SELECT ({drama_steps})[1 + (g - 1) % {len(DRAMA_STEPS)}], '1', "
                     f"'d' || lpad(((g - 1) / {len(DRAMA_STEPS)})::text, 5, '0'), NULL, 'bench', 1, 'success', now(), now(), 9.5 "
                     f"FROM generate_series(1, {d * len(DRAMA_STEPS)}) g"),
        ("shot", f"INSERT INTO shot (id, episode_id, shot_index, start_frame, end_frame, start_s, end_s, transition_in, extra) "
                 f"SELECT {ep_of} || '--s' || lpad(((g - 1) % {k})::text, 4, '0'), {ep_of}, (g - 1) % {k}, "
                 f"((g - 1) % {k}) * 17, ((g - 1) % {k}) * 17 + 17, ((g - 1) % {k}) * 0.7, ((g - 1) % {k}) * 0.7 + 0.7, 'cut', "
                 f"json_build_object('scene', json_build_object('scene_index', ((g - 1) % {k}) / {SHOTS_PER_SCENE})) "
                 f"FROM generate_series(1, {scale.keyframes}) g"),
        ("script_restoration", f"INSERT INTO script_restoration (script_id, drama_id, episode_id, scene_index, requested, done, "
                               f"rejected, failed, prompt_tokens, completion_tokens, call_seconds, shard_key, updated_at) "
                               f"SELECT {ep_sc} || '--sc' || lpad(((g - 1) % {scenes})::text, 4, '0'), "
                               f"'d' || lpad((((g - 1) / {scenes}) / {EPISODES_PER_DRAMA})::text, 5, '0'), {ep_sc}, "
                               f"(g - 1) % {scenes}, 100, 97, 2, 1, 90000, 60000, 300.0, 'pairs/' || g || '.jsonl', now() "
                               f"FROM generate_series(1, {e * scenes}) g"),
        ("keyframe", f"INSERT INTO keyframe (id, episode_id, shot_id, shot_index, frame_index, timestamp_s, valid, "
                     f"private_key, face_count) SELECT {ep_of} || '--f' || lpad((((g - 1) % {k}) * 17 + 8)::text, 7, '0'), "
                     f"{ep_of}, {ep_of} || '--s' || lpad(((g - 1) % {k})::text, 4, '0'), (g - 1) % {k}, "
                     f"((g - 1) % {k}) * 17 + 8, ((g - 1) % {k}) * 0.7 + 0.3, g % 40 <> 0, 'frames/' || g || '.jpg', g % 3 "
                     f"FROM generate_series(1, {scale.keyframes}) g"),
        ("annotation", f"INSERT INTO annotation (keyframe_id, kind, version, current, source, payload, created_at) "
                       f"SELECT kf.id, kind, 1, true, 'bench', '{{\"n\": 1}}'::json, now() FROM keyframe kf "
                       f"CROSS JOIN unnest({kinds}) AS kind"),
        ("loss", "INSERT INTO loss (drama_id, episode_id, item_kind, item_id, step, reason, created_at) "
                 "SELECT split_part(kf.id, '--', 1), kf.episode_id, 'keyframe', kf.id, 'scan', 'too_dark', now() "
                 "FROM keyframe kf WHERE NOT kf.valid"),
    ]


def _best(fn: Callable[[], object], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv: list[str] | None = None) -> int:
    from sqlalchemy import create_engine, func, select, text
    from sqlalchemy.engine import make_url

    from skyscript.db import lineage
    from skyscript.db.engine import Database, upgrade
    from skyscript.db.models import StepRun
    from skyscript.db.pairs import trace_pair
    from skyscript.quality.loss import loss_report

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keyframes", type=int, default=1_000_000, help="keyframes to load (paper: 10,000,000)")
    ap.add_argument("--admin-url", default=os.environ.get("SKYSCRIPT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--keep", action="store_true", help="keep the database")
    ap.add_argument("--revision", default="head", help="schema revision to load into (e.g. 0008: without the query indexes of 0009)")
    args = ap.parse_args(argv)
    try:
        scale = Scale.of(args.keyframes)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    name = f"skyscript_bench_{os.getpid()}"
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(args.admin_url).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    try:
        upgrade(db.engine, args.revision)
        total_rows, t_load = 0, time.perf_counter()
        print(f"scale     {scale.keyframes:,} keyframes, {scale.episodes:,} episodes, {scale.dramas:,} dramas; "
              f"schema {args.revision}")
        with db.engine.begin() as conn:
            for table, sql in load_statements(scale):
                t = time.perf_counter()
                n = conn.execute(text(sql)).rowcount
                dt = time.perf_counter() - t
                total_rows += n
                print(f"load      {table:<18} {n:>11,} rows in {dt:7.1f} s ({n / dt:>10,.0f} rows/s)")
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
            size = conn.exec_driver_sql(f"SELECT pg_database_size('{name}')").scalar()
        t_load = time.perf_counter() - t_load
        print(f"load      total              {total_rows:>11,} rows in {t_load:7.1f} s ({total_rows / t_load:>10,.0f} rows/s, "
              f"indexes maintained), database {size / 2**30:.2f} GiB")
        drama = f"d{(scale.dramas // 2):05d}"
        kf_id = f"{drama}--e005--f{(60 * 17 + 8):07d}"

        def trace() -> None:
            with db.session() as s:
                tr = lineage.trace_keyframe(s, kf_id)
                assert len(tr.annotations) == len(KINDS) and tr.step_runs

        pid = f"{drama}--e005--sc0012--r0007"

        def pair() -> None:
            with db.session() as s:
                tr = trace_pair(s, pid)
                assert tr["pair_id"] == pid and tr["shard_key"]

        def status() -> None:
            with db.session() as s:
                counts = lineage.table_counts(s, drama)
                assert counts["keyframe"] == EPISODES_PER_DRAMA * KEYFRAMES_PER_EPISODE or drama == f"d{scale.dramas - 1:05d}"
                s.execute(select(StepRun.status, func.count()).where(StepRun.drama_id == drama).group_by(StepRun.status)).all()

        def gate() -> None:
            with db.session() as s:
                rep = loss_report(s, drama, 0.04)
                assert rep.keyframes > 0

        print(f"trace     keyframe   {1000 * _best(trace):8.1f} ms  (goal < 50 ms)")
        print(f"trace     pair       {1000 * _best(pair):8.1f} ms  (goal < 50 ms)")
        print(f"status    drama      {1000 * _best(status):8.1f} ms  (goal < 1 s)")
        print(f"gate      drama      {1000 * _best(gate):8.1f} ms  (goal < 1 s)")
        print(f"load rate: {total_rows / t_load:,.0f} rows/s")
    finally:
        db.dispose()
        if not args.keep:
            with admin.connect() as c:
                c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
