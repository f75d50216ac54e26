"""Key information for the valid keyframes of one episode: the VLM path (paper 3.1-3.4).

Which copy of a frame goes where:

* the VLM gets the **unmasked** frame (Area.private). The paper pre-extracts first and pixelates
  afterwards, and age, emotion and attractiveness cannot be judged on a mosaic. Its raw answers
  stay in the private area too.
* the open-vocabulary detector gets the **masked** public copy when the privacy step wrote one
  (as the paper does), else the private one.
* the face-attribute models get the **unmasked** frame at the privacy step's face boxes: a mosaic
  face has no age, gender or expression left to read.

Several keyframes of one shot go into one request (``images_per_request``). ``max_tokens`` is
the generation budget of a full request; a request with fewer keyframes gets its share (the
answer's length follows the keyframes in it), and the client caps it at ``settings.vlm.max_tokens``.
Requests run with adaptive concurrency (up to ``settings.vlm.concurrency``). Each answer climbs the
repair ladder of :mod:`skyscript.keyinfo.repair`; every frame's outcome is counted
(``answers_parsed``, ``answers_repaired``, ``answers_corrected``, ``answers_lost``), and so is what
the client did (``vlm_http_requests``, ``vlm_retries``, ``vlm_timeouts``, ``vlm_peak_in_flight``).

Losses: ``vlm_failed`` (the request failed for good), ``truncated_answer`` (cut off at the budget
even after one retry with twice the room), ``unparseable_json`` / ``schema_violation`` (the repair
ladder). A misconfigured model server (:class:`ModelServerMisconfigured`: a model name it does not
serve, a refused key, every request refused) or one that no request reached
(:class:`ModelServerUnreachable`) is not a loss: it propagates and fails the step, which can be retried.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from skyscript.config import KeyInfoSettings
from skyscript.ids import Keys
from skyscript.keyinfo.calibrate import FaceContext, calibrate_frame
from skyscript.keyinfo.prompts import (
    CORRECTION_SYSTEM,
    EXTRACT_SYSTEM,
    PROMPT_VERSION,
    correction_user_prompt,
    extract_user_prompt,
    prompt_set,
)
from skyscript.keyinfo.repair import Interpretation, Outcome, interpret
from skyscript.keyinfo.schema import KeyInfo, Source
from skyscript.keyinfo.vlm_client import ChatAnswer, ChatBackend, ChatRequest, ModelServerMisconfigured, VlmError
from skyscript.losses import LossRecord
from skyscript.models.detectors import Detection, OpenVocabDetector
from skyscript.models.faces import FaceBackend, FacePrediction, read_rgb

STEP = "keyinfo"


@dataclass
class FrameInput:
    keyframe_id: str
    frame_index: int
    shot_index: int
    private_jpeg: bytes
    public_jpeg: bytes | None = None
    face_boxes: list[tuple[int, int, int, int]] | None = None  # from the privacy step; None: not available


@dataclass
class FrameResult:
    keyframe_id: str
    frame_index: int
    keyinfo: KeyInfo | None = None


@dataclass
class EpisodeResult:
    frames: list[FrameResult] = field(default_factory=list)
    losses: list[LossRecord] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    answers: dict[str, bytes] = field(default_factory=dict)  # private-area key -> raw answer JSON

    def bump(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def group_requests(frames: Sequence[FrameInput], per_request: int) -> list[list[FrameInput]]:
    """Keyframes of the same shot, in frame order, at most ``per_request`` per group."""
    by_shot: dict[int, list[FrameInput]] = {}
    for f in sorted(frames, key=lambda f: f.frame_index):
        by_shot.setdefault(f.shot_index, []).append(f)
    groups = []
    for shot in sorted(by_shot):
        lst = by_shot[shot]
        groups.extend(lst[i : i + per_request] for i in range(0, len(lst), per_request))
    return groups


class FaceStage:
    """Face boxes (the privacy step's, else the backend's detector) and attribute predictions."""

    def __init__(self, backend: FaceBackend | None, tta: bool) -> None:
        self.backend = backend
        self.tta = tta

    def context(self, image: np.ndarray, boxes: list[tuple[int, int, int, int]] | None) -> FaceContext:
        if self.backend is None:
            return FaceContext(None, image, [], Source.privacy, False)
        if boxes is None:
            boxes = self.backend.detect(image)
            box_source = Source.deepface if self.backend.name == "deepface" else Source.dlib
        else:
            box_source = Source.privacy
        preds: list[FacePrediction] = self.backend.predict(image, boxes) if boxes else []
        return FaceContext(self.backend, image, preds, box_source, self.tta)


class VlmExtractor:
    """The full path: VLM answers, repair ladder, detector calibration, face attributes."""

    def __init__(
        self,
        keys: Keys,
        params: KeyInfoSettings,
        vlm: ChatBackend,
        corrector: ChatBackend | None,
        detector: OpenVocabDetector | None,
        faces: FaceStage,
        shot_rules: Any,
        log: logging.LoggerAdapter[logging.Logger] | logging.Logger,
    ) -> None:
        self.keys, self.params = keys, params
        self.vlm, self.corrector, self.detector, self.faces = vlm, corrector, detector, faces
        self.shot_rules = shot_rules
        self.log = log
        self.prompts = prompt_set()
        self._fatal: ModelServerMisconfigured | None = None

    def budget(self, n_images: int) -> int:
        """``max_tokens`` of a request with ``n_images`` keyframes: its share of a full request's."""
        per_request = max(1, self.params.images_per_request)
        return max(64, math.ceil(self.params.max_tokens * min(n_images, per_request) / per_request))

    def _correct(self, raw: str, problem: str, n_images: int) -> str:
        assert self.corrector is not None
        try:
            ans = self.corrector.chat(ChatRequest(
                system=CORRECTION_SYSTEM, user=correction_user_prompt(raw, problem, n_images), images=(),
                max_tokens=self.budget(n_images),
            ))
        except ModelServerMisconfigured as exc:  # the repair ladder turns errors into losses: keep this one
            self._fatal = exc
            raise
        return ans.text

    def _store_answer(
        self, episode_id: str, group: list[FrameInput], record: dict[str, Any], result: EpisodeResult
    ) -> dict[int, str]:
        """The raw answer (or the failure) as JSON, kept per frame under ``answers/`` for the audit
        trail; the step hands ``result.answers`` to the runner, which writes them."""
        body = json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8")
        keys = {}
        for f in group:
            key = self.keys.raw_answer(episode_id, f.frame_index, STEP)
            result.answers[key] = body
            keys[f.frame_index] = key
        return keys

    def run(self, episode_id: str, frames: Sequence[FrameInput]) -> EpisodeResult:
        result = EpisodeResult()
        groups = group_requests(frames, self.params.images_per_request)
        requests = [
            ChatRequest(system=EXTRACT_SYSTEM, user=extract_user_prompt(len(g)), images=[f.private_jpeg for f in g],
                        max_tokens=self.budget(len(g)))
            for g in groups
        ]
        result.bump("vlm_requests", len(requests))
        before = _client_counts(self.vlm)
        if before is not None:
            self.vlm.limiter.reset_peak()  # type: ignore[attr-defined]
        answers = self.vlm.chat_many(requests)  # raises ModelServerMisconfigured / ModelServerUnreachable
        for group, answer in zip(groups, answers):
            self._handle(episode_id, group, answer, result)
            if self._fatal is not None:
                raise self._fatal
        after = _client_counts(self.vlm)
        if after is not None and before is not None:
            diff = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            result.bump("vlm_http_requests", diff.get("requests", 0))
            result.bump("vlm_retries", sum(v for k, v in diff.items() if k.startswith("retry_")))
            result.bump("vlm_timeouts", diff.get("timeouts", 0))
            result.counts["vlm_peak_in_flight"] = self.vlm.limiter.peak_in_flight  # type: ignore[attr-defined]
        return result

    def _handle(self, episode_id: str, group: list[FrameInput], answer: ChatAnswer | VlmError, result: EpisodeResult) -> None:
        record: dict[str, Any] = {
            "step": STEP, "prompt_version": PROMPT_VERSION, "prompt_digest": self.prompts.digest,
            "frames": [f.frame_index for f in group], "keyframe_ids": [f.keyframe_id for f in group],
        }
        if isinstance(answer, VlmError):
            reason = "truncated_answer" if answer.reason == "truncated_answer" else "vlm_failed"
            record.update(error=str(answer), attempts=answer.attempts, model=self.vlm.model_id, outcome="lost")
            if answer.text is not None:
                record["answer"] = answer.text
            keys = self._store_answer(episode_id, group, record, result)
            self.log.warning("VLM request for frames %s failed: %s", record["frames"], answer)
            for f in group:
                result.frames.append(FrameResult(f.keyframe_id, f.frame_index))
                result.losses.append(LossRecord("annotation", f.keyframe_id, reason, str(answer), keys[f.frame_index]))
                result.bump("answers_lost")
                result.bump(reason)
            return
        interp: Interpretation = interpret(answer.text, len(group), self.corrector and self._correct)
        if self._fatal is not None:
            return
        record.update(
            model=answer.model, attempts=answer.attempts, finish_reason=answer.finish_reason, answer=answer.text,
            outcome=interp.outcome.value, corrected=interp.corrected_text, problem=interp.detail,
        )
        keys = self._store_answer(episode_id, group, record, result)
        result.bump(f"answers_{interp.outcome.value}", len(group))
        if interp.outcome is Outcome.lost or interp.frames is None:
            self.log.warning("answer for frames %s lost: %s (%s)", record["frames"], interp.reason, interp.detail)
            for f in group:
                result.frames.append(FrameResult(f.keyframe_id, f.frame_index))
                result.losses.append(LossRecord("annotation", f.keyframe_id, interp.reason or "unparseable_json",
                                                interp.detail, keys[f.frame_index]))
            return
        for f, vframe in zip(group, interp.frames):
            try:
                image = read_rgb(f.private_jpeg)
            except ValueError as exc:
                result.frames.append(FrameResult(f.keyframe_id, f.frame_index))
                result.losses.append(LossRecord("keyframe", f.keyframe_id, "frame_unreadable", str(exc)))
                result.bump("unreadable_frames")
                continue
            h, w = image.shape[:2]
            detections: list[Detection] | None = None
            if self.detector is not None:
                vocab = list(dict.fromkeys([o.type for o in vframe.objects] + ["person"]))
                det_image = read_rgb(f.public_jpeg) if f.public_jpeg else image
                detections = self.detector.detect(det_image, vocab)
            fctx = self.faces.context(image, f.face_boxes)
            cal = calibrate_frame(vframe, w, h, detections, fctx, self.shot_rules)
            for k, v in cal.counts.items():
                result.bump(k, v)
            for i, typ in cal.hallucinated:
                result.losses.append(LossRecord(
                    "object", f"{f.keyframe_id}/object/{i}", "hallucination",
                    f"the detector found no {typ!r} in the frame", keys[f.frame_index],
                ))
            info = KeyInfo(
                origin="vlm", width=w, height=h, objects=cal.objects, people=cal.people,
                answer_outcome=interp.outcome.value,  # type: ignore[arg-type]
                raw_answer_key=keys[f.frame_index], hallucinated=[t for _, t in cal.hallucinated],
            )
            result.frames.append(FrameResult(f.keyframe_id, f.frame_index, info))
            result.bump("keyframes_annotated")


def _client_counts(client: Any) -> dict[str, int] | None:
    """The HTTP client's counters (:class:`skyscript.models.chat.ClientStats`); None for backends without."""
    stats = getattr(client, "stats", None)
    return stats.snapshot() if stats is not None and getattr(client, "limiter", None) is not None else None
