from __future__ import annotations

import re

import pytest

from skyscript.orchestration.commands import StepInvocation, as_str_list, parse_step_output, summarise
from skyscript.orchestration.labels import dns_name, label_value

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def test_invocation_args_match_the_cli() -> None:
    inv = StepInvocation("ingest", "d", sources=("/a b/x.mp4", "s3://b/p"), dag_run_id="r1", try_number=2,
                         params={"z": "1", "a": "2"})
    assert inv.args() == ["step", "ingest", "--drama", "d", "--source", "/a b/x.mp4", "--source", "s3://b/p",
                          "--dag-run-id", "r1", "--try-number", "2", "--param", "a=2", "--param", "z=1"]


def test_as_str_list_accepts_what_templates_hand_over() -> None:
    assert as_str_list(None) == () and as_str_list("") == ()
    assert as_str_list('["a", "b"]') == ("a", "b")
    assert as_str_list("one") == ("one",)
    assert as_str_list(("x",)) == ("x",)
    with pytest.raises(TypeError):
        as_str_list(3)


def test_parse_step_output_reads_only_result_lines() -> None:
    out = "\n".join([
        "noise",
        '{"step": "probe", "episode": "d--a", "status": "success", "step_run_id": 4, "counts": {"frames": 270}, "error": null}',
        '{"not": "a result"}',
        '{"step": "probe", "episode": "d--b", "status": "failed", "step_run_id": 5, "counts": {}, "error": "boom"}',
    ])
    lines = parse_step_output(out)
    assert [(ln.episode, ln.status, ln.error) for ln in lines] == [("d--a", "success", None), ("d--b", "failed", "boom")]
    assert summarise(lines) == {"results": {"success": 1, "failed": 1}, "counts": {"frames": 270}}


@pytest.mark.parametrize("value", [
    "manual__2026-11-25T04:48:26.093677+00:00",
    "love-in-shanghai--" + "x" * 80,
    "__weird__",
    "a" * 63,
])
def test_label_values_are_valid_and_distinct(value: str) -> None:
    out = label_value(value)
    assert len(out) <= 63 and LABEL_VALUE.match(out)
    assert label_value(value + "y") != out


def test_label_value_keeps_clean_short_ids() -> None:
    assert label_value("love-in-shanghai--ep01") == "love-in-shanghai--ep01"
    assert label_value(None) == ""
    assert dns_name("Shot_Size") == "shot-size"


def test_force_reaches_the_step_command() -> None:
    from skyscript.orchestration.commands import StepInvocation

    assert StepInvocation("text", "d", episodes=("d--e",)).args()[-1] != "--force"
    assert StepInvocation("text", "d", episodes=("d--e",), force=True).args()[-1] == "--force"
