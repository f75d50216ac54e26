"""Property-based fuzzing (hypothesis) of what hostile input reaches first: the id builder (file
names from anywhere), the JSON repair ladder (whatever a model answers) and the probe (whatever
bytes a source holds). Each must answer with a value or its own error, never crash."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skyscript import ids
from skyscript.errors import BadInput
from skyscript.keyinfo.repair import Outcome, interpret
from skyscript.store.base import check_key

NAMES = st.text(min_size=1, max_size=60).filter(lambda t: "/" not in t and "\x00" not in t)


@given(NAMES, NAMES)
@settings(max_examples=300, deadline=None)
def test_episode_ids_are_valid_keys_stable_and_never_merge_two_names(a: str, b: str) -> None:
    ida, idb = ids.episode_id("d", a + ".mp4"), ids.episode_id("d", b + ".mp4")
    assert ida == ids.episode_id("d", a + ".mp4")  # stable
    assert re.fullmatch(r"d--[a-z0-9]+(-[a-z0-9]+)*", ida), ida
    assert check_key(ids.Keys("d").frame(ida, 0, 0))
    if ida == idb and a != b:
        # a slug may merge plain names ("Ep 1" / "ep-1"): ingest then gives the second its own id
        assert ids.disambiguated_episode_id("d", a + ".mp4") != ids.disambiguated_episode_id("d", b + ".mp4")


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@given(st.one_of(st.text(max_size=400), JSONISH.map(json.dumps), JSONISH.map(lambda v: json.dumps(v)[:-3])))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_repair_ladder_answers_anything_with_frames_or_a_reason(text: str) -> None:
    interp = interpret(text, 1)
    if interp.outcome is Outcome.lost:
        assert interp.frames is None and interp.reason in ("unparseable_json", "schema_violation")
    else:
        assert interp.frames is not None and len(interp.frames) == 1


@given(st.binary(min_size=0, max_size=4096))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_probe_quarantines_random_bytes(tmp_path: Path, data: bytes) -> None:
    from skyscript.video.probe import probe

    path = tmp_path / "x.mp4"
    path.write_bytes(data)
    with pytest.raises(BadInput) as err:
        probe(path, "x.mp4")
    assert err.value.reason in ("empty_file", "not_a_video", "unreadable_codec", "no_frames", "too_short", "too_small")
