import pytest

from skyscript import ids


def test_ids_are_deterministic_and_nested() -> None:
    ep = ids.episode_id("my-drama", "/x/y/Episode 01.mp4")
    assert ep == "my-drama--episode-01"
    assert ids.shot_id(ep, 3) == "my-drama--episode-01--s0003"
    assert ids.keyframe_id(ep, 120) == "my-drama--episode-01--f0000120"
    assert ids.drama_of(ids.keyframe_id(ep, 120)) == "my-drama"


def test_slug_never_empty() -> None:
    assert ids.slug("!!!") == "x"
    assert ids.slug("Ünïcode Name") == "n-code-name"


@pytest.mark.parametrize("bad", ["", "Upper", "has space", "under_score"])
def test_invalid_drama_ids_are_rejected_with_a_suggestion(bad: str) -> None:
    with pytest.raises(ValueError, match="drama id"):
        ids.validate_drama_id(bad)


def test_keys_separate_raw_frames_and_reports() -> None:
    k = ids.Keys("d")
    assert k.raw_video("d--e", ".MP4") == "raw/d/d--e/source.mp4"
    assert k.frame("d--e", 2, 98) == "frames/d/d--e/s0002/f0000098.jpg"
    assert k.report("loss.json") == "reports/d/loss.json"


def test_titles_a_slug_cannot_keep_stay_apart() -> None:
    episode_id, disambiguated_episode_id = ids.episode_id, ids.disambiguated_episode_id
    a, b = episode_id("d", "第一集.mp4"), episode_id("d", "第二集.mp4")
    assert a != b and a.startswith("d--ep-") and episode_id("d", "第一集.mp4") == a  # stable
    assert episode_id("d", "第1集.mp4").startswith("d--1-")
    assert episode_id("d", "Megamind.avi") == "d--megamind"  # plain names keep their readable id
    assert episode_id("d", "Ep 01.mp4") == "d--ep-01"
    assert disambiguated_episode_id("d", "clash.mkv") != disambiguated_episode_id("d", "clash.mp4")


@pytest.mark.parametrize("raw, shown", [
    ("ep01.mp4", "ep01.mp4"),
    ("第一集.mp4", "第一集.mp4"),  # readable titles stay readable
    ("ep\n01.mp4", "ep\\n01.mp4"),
    ("ep\r\n01\t.mp4", "ep\\r\\n01\\t.mp4"),
    ("a\x1b[31mred", "a\\x1b[31mred"),  # a terminal escape sequence
    ("a\u2028b\x85c", "a\\u2028b\\x85c"),  # separators str.splitlines breaks on
    ("evil\u202egpj.mp4", "evil\\u202egpj.mp4"),  # a right-to-left override
    ("bytes\udcff.mp4", "bytes\\udcff.mp4"),  # an undecodable byte of a file name (surrogateescape)
])
def test_one_line_escapes_what_would_break_or_forge_a_line(raw: str, shown: str) -> None:
    assert ids.one_line(raw) == shown
    assert ids.one_line(shown) == shown  # idempotent
    assert len(shown.splitlines()) == 1
    shown.encode("utf-8")  # printable on a UTF-8 stream
