"""Loss accounting from the loss rows: the rate is computed, never estimated."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from skyscript.db.models import Episode, Keyframe, Loss


LOST_KEYFRAME_KINDS = ("keyframe", "annotation")


@dataclass
class LossReport:
    drama_id: str
    episodes: int
    episodes_lost: int
    keyframes: int
    keyframes_lost: int
    by_reason: dict[str, int] = field(default_factory=dict)
    by_step: dict[str, int] = field(default_factory=dict)
    max_loss_rate: float = 0.04

    @property
    def episode_loss_rate(self) -> float:
        return self.episodes_lost / self.episodes if self.episodes else 0.0

    @property
    def keyframe_loss_rate(self) -> float:
        return self.keyframes_lost / self.keyframes if self.keyframes else 0.0

    @property
    def loss_rate(self) -> float:
        """The gated rate: the worse of episode-level and keyframe-level loss."""
        return max(self.episode_loss_rate, self.keyframe_loss_rate)

    @property
    def passed(self) -> bool:
        return self.loss_rate <= self.max_loss_rate

    def as_dict(self) -> dict[str, object]:
        return {
            "drama_id": self.drama_id,
            "episodes": self.episodes,
            "episodes_lost": self.episodes_lost,
            "episode_loss_rate": round(self.episode_loss_rate, 6),
            "keyframes": self.keyframes,
            "keyframes_lost": self.keyframes_lost,
            "keyframe_loss_rate": round(self.keyframe_loss_rate, 6),
            "loss_rate": round(self.loss_rate, 6),
            "max_loss_rate": self.max_loss_rate,
            "passed": self.passed,
            "by_reason": self.by_reason,
            "by_step": self.by_step,
        }


def loss_report(session: Session, drama_id: str, max_loss_rate: float = 0.04) -> LossReport:
    episodes = int(session.scalar(select(func.count()).select_from(Episode).where(Episode.drama_id == drama_id)) or 0)
    quarantined = int(
        session.scalar(select(func.count()).select_from(Episode).where(Episode.drama_id == drama_id, Episode.status == "quarantined"))
        or 0
    )
    keyframes = int(
        session.scalar(
            select(func.count()).select_from(Keyframe).join(Episode, Keyframe.episode_id == Episode.id).where(Episode.drama_id == drama_id)
        )
        or 0
    )
    rows = list(session.scalars(select(Loss).where(Loss.drama_id == drama_id)))
    # a keyframe is lost when it is invalid or unreadable (item_kind "keyframe") or when its key
    # information could not be recovered (item_kind "annotation", keyed on the keyframe id); a
    # dropped hallucinated object ("object") is calibration, not loss, and only shows in by_reason
    lost_keyframes = {r.item_id for r in rows if r.item_kind in LOST_KEYFRAME_KINDS}
    return LossReport(
        drama_id=drama_id,
        episodes=episodes,
        episodes_lost=quarantined,
        keyframes=keyframes,
        keyframes_lost=len(lost_keyframes),
        by_reason=dict(Counter(r.reason for r in rows)),
        by_step=dict(Counter(r.step for r in rows)),
        max_loss_rate=max_loss_rate,
    )
