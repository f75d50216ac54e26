"""The lineage benchmark's row generator: the paper's proportions and the project's id scheme
(the benchmark itself runs by hand against Postgres, never in the suite)."""

from __future__ import annotations

import pytest

from fixtures.bench import load_bench


def _bench():  # type: ignore[no-untyped-def]
    return load_bench("bench_lineage")


def test_scale_follows_the_papers_proportions() -> None:
    b = _bench()
    s = b.Scale.of(10_000_000)
    assert (s.keyframes, s.episodes, s.dramas) == (10_000_000, 80_000, 6_667)
    s = b.Scale.of(1_000_001)
    assert (s.keyframes, s.episodes, s.dramas) == (1_000_000, 8_000, 667)
    with pytest.raises(ValueError, match="at least 1500"):
        b.Scale.of(100)


def test_load_statements_cover_every_table_in_order() -> None:
    b = _bench()
    stmts = b.load_statements(b.Scale.of(1_500))
    assert [t for t, _ in stmts] == ["drama", "episode", "step_run", "step_run", "shot",
                                      "script_restoration", "keyframe", "annotation", "loss"]
    sql = dict(stmts[3:])
    assert "generate_series(1, 1500)" in sql["keyframe"] and "generate_series(1, 12)" in stmts[1][1]
    assert "generate_series(1, 72)" in stmts[2][1]  # 6 steps x 12 episodes
    assert "generate_series(1, 3)" in sql["step_run"]  # 3 drama steps x 1 drama
    assert "generate_series(1, 300)" in sql["script_restoration"]  # 25 scenes x 12 episodes
    assert all(s.startswith(f"INSERT INTO {t} ") for t, s in stmts)
