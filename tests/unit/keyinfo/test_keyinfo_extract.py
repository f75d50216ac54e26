"""The VLM extractor with a detector: hallucinated objects become loss rows pointing at the raw
answer; the detector sees the masked copy, the VLM the unmasked one; requests group by shot."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
from keyinfo_helpers import jpeg_of
from openai_standin import Reply, StandinOpenAI

from skyscript.config import ModelEndpoint
from skyscript.ids import Keys
from skyscript.config import KeyInfoSettings
from skyscript.keyinfo.extract import FaceStage, FrameInput, VlmExtractor, group_requests
from skyscript.models.faces import confirmed_face_boxes
from skyscript.schemas.annotations import FacesPayload
from skyscript.steps.keyinfo import KeyInfoStep
from skyscript.steps.runner import resolve_params
from skyscript.keyinfo.vlm_client import OpenAIChatClient
from skyscript.models.detectors import Detection
from skyscript.video.shot_size import ShotSizeRules


class RecordingDetector:
    """A test double: 'finds' the labels it is told to, and records what it was shown."""

    name = "recording"
    model_id = "recording"
    weights_digest = None

    def __init__(self, finds: dict[str, tuple[int, int, int, int]]) -> None:
        self.finds = finds
        self.calls: list[tuple[tuple[int, ...], list[str]]] = []

    def detect(self, image: np.ndarray, vocabulary: list[str]) -> list[Detection]:
        self.calls.append((image.shape, list(vocabulary)))
        return [Detection(v, self.finds[v], 0.8) for v in vocabulary if v in self.finds]


def test_hallucinations_are_dropped_and_recorded(tmp_path: Path, standin: StandinOpenAI) -> None:
    private, public = jpeg_of(1, (64, 48)), jpeg_of(2, (64, 48))
    answer = {"objects": [{"type": "cup"}, {"type": "dragon", "description": "a dragon on the table"}],
              "people": [{"gender": "female"}]}
    standin.script_image(private, Reply(json.dumps(answer)))
    det = RecordingDetector({"cup": (5, 5, 20, 20), "person": (30, 0, 60, 48)})
    with OpenAIChatClient(ModelEndpoint(url=standin.url)) as vlm:
        ex = VlmExtractor(Keys("d"), KeyInfoSettings(), vlm, None, det, FaceStage(None, False), ShotSizeRules(),
                          logging.getLogger("test"))
        res = ex.run("d--ep", [FrameInput("d--ep--f0000007", 7, 0, private, public)])
    assert det.calls == [((48, 64, 3), ["cup", "dragon", "person"])]
    assert standin.requests[0].images == [private]  # the VLM sees the unmasked frame
    [loss] = res.losses
    assert (loss.item_kind, loss.item_id, loss.reason) == ("object", "d--ep--f0000007/object/1", "hallucination")
    assert loss.raw_key == Keys("d").raw_answer("d--ep", 7, "keyinfo")
    assert json.loads(res.answers[loss.raw_key])["answer"] == json.dumps(answer)  # the runner stores it
    info = res.frames[0].keyinfo
    assert info is not None and info.hallucinated == ["dragon"]
    assert [(o.type, o.box, o.verified) for o in info.objects] == [("cup", (5, 5, 20, 20), True)]
    assert info.people[0].body_box == (30, 0, 60, 48) and info.people[0].verified
    assert res.counts["objects_confirmed"] == 1 and res.counts["objects_hallucinated"] == 1


def test_grouping_by_shot_and_face_payloads() -> None:
    fr = [FrameInput(f"k{i}", i, shot, b"") for i, shot in enumerate([0, 0, 1, 0, 1, 0, 0])]
    groups = group_requests(list(reversed(fr)), 2)
    assert [[f.frame_index for f in g] for g in groups] == [[0, 1], [3, 5], [6], [2, 4]]
    payload = FacesPayload.model_validate({"width": 100, "height": 100, "count": 2, "faces": [
        {"xyxy": [10.4, 20, 50, 70.6]}, {"xyxy": [0, 0, 2, 2]}, {"xyxy": [5, 5, 40, 40], "confirmed": False}]})
    assert confirmed_face_boxes(payload) == [(10, 20, 50, 71)]


def test_params_from_nested_dict_and_flat_cli_entries() -> None:
    from skyscript.config import Settings
    from skyscript.errors import ParamsError

    p = resolve_params(KeyInfoStep(), Settings(), {"keyinfo": {"images_per_request": 2}, "keyinfo.tta": "false",
                                                   "keyinfo.offline_vocabulary": "cup, sofa", "keyinfo.detector": "yolo_world"})
    assert isinstance(p, KeyInfoSettings)
    assert (p.images_per_request, p.tta, p.offline_vocabulary, p.detector) == (2, False, ("cup", "sofa"), "yolo_world")
    import pytest

    with pytest.raises(ParamsError, match="detector"):
        resolve_params(KeyInfoStep(), Settings(), {"keyinfo.detector": "owl"})
