"""Why things are dropped: one vocabulary of loss reasons, and the loss record steps return.

Every loss row in the lineage database carries one of these reasons. The runner refuses a
record whose reason is not listed here, so two spellings of one cause cannot creep in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal


class LossReason(str, Enum):
    # an episode set aside as bad input (probe and scan quarantine it)
    missing_file = "missing_file"
    empty_file = "empty_file"
    not_a_video = "not_a_video"
    unreadable_codec = "unreadable_codec"
    no_frames = "no_frames"
    too_short = "too_short"
    too_small = "too_small"
    truncated = "truncated"
    decode_error = "decode_error"
    # a source that could not be read at all (ingest)
    source_unreachable = "source_unreachable"
    dangling_link = "dangling_link"  # a symbolic link in a source folder that points nowhere
    unsafe_source = "unsafe_source"  # a URL to a private address, an object key escaping the work folder
    # a step that failed on its unit (the runner writes it; a later success clears it)
    step_failed = "step_failed"
    # a keyframe that cannot be used
    frame_missing = "frame_missing"
    frame_unreadable = "frame_unreadable"
    motion_blur = "motion_blur"
    occlusion = "occlusion"
    invalid = "invalid"
    ocr_missing = "ocr_missing"  # not published: its text was never read
    privacy_unverified = "privacy_unverified"  # not published: a face is still found on the masked copy
    # key information that could not be recovered
    vlm_failed = "vlm_failed"
    unparseable_json = "unparseable_json"
    schema_violation = "schema_violation"
    truncated_answer = "truncated_answer"  # cut off at its token budget even after one retry with twice the room
    # an object the VLM named that no detector found (reported, not counted as loss)
    hallucination = "hallucination"
    # a script restoration (a pair) that was not kept
    restoration_rejected = "restoration_rejected"  # failed a check (characters, scene order, camera jargon, length)
    near_duplicate = "near_duplicate"  # too close to an earlier restoration of the same shooting script
    llm_failed = "llm_failed"  # the LLM call failed after its retries


ItemKind = Literal["episode", "keyframe", "annotation", "object", "source", "drama", "pair"]
ITEM_KINDS: tuple[str, ...] = ("episode", "keyframe", "annotation", "object", "source", "drama", "pair")


@dataclass
class LossRecord:
    """One dropped item: what it is, its id, why, and where the evidence is (``raw_key``)."""

    item_kind: str
    item_id: str
    reason: str
    detail: str | None = None
    raw_key: str | None = None
    episode_id: str | None = None

    def __post_init__(self) -> None:
        try:
            self.reason = LossReason(self.reason).value
        except ValueError:
            raise ValueError(
                f"loss reason {self.reason!r} is not in skyscript.losses.LossReason; add it there"
            ) from None
        if self.item_kind not in ITEM_KINDS:
            raise ValueError(f"loss item kind {self.item_kind!r} is not one of {ITEM_KINDS}")
