"""Lineage database: where every record came from and every dropped item went.

Natural string ids (see :mod:`skyscript.ids`) are primary keys, so a re-run upserts the same
rows. ``step_run`` is the audit log of attempts: it grows with each attempt by design, and
every data row points at the step run that last wrote it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Source(Base):
    """Where episodes come from: a folder, a URL, an S3 prefix. Ops register and crawl these."""

    __tablename__ = "source"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    uri: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))  # file | http | s3
    drama_id: Mapped[str | None] = mapped_column(String(128))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_scanned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Drama(Base):
    __tablename__ = "drama"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[str | None] = mapped_column(ForeignKey("source.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    episodes: Mapped[list["Episode"]] = relationship(back_populates="drama", order_by="Episode.id")


class Episode(Base):
    __tablename__ = "episode"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    drama_id: Mapped[str] = mapped_column(ForeignKey("drama.id"), index=True)
    source_uri: Mapped[str] = mapped_column(Text)
    source_name: Mapped[str] = mapped_column(Text)
    content_digest: Mapped[str | None] = mapped_column(String(80), index=True)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    # local sources only: the file's modification time when it was digested (re-ingest skips
    # hashing a file whose path, size and mtime are unchanged)
    source_mtime_ns: Mapped[int | None] = mapped_column(BigInteger)
    raw_key: Mapped[str | None] = mapped_column(Text)  # private area
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | ok | quarantined
    error: Mapped[str | None] = mapped_column(Text)
    fps: Mapped[float | None] = mapped_column(Float)
    frame_count: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float)
    codec: Mapped[str | None] = mapped_column(String(32))
    start_pts_frames: Mapped[float | None] = mapped_column(Float)  # first timestamp, in frames
    step_run_id: Mapped[int | None] = mapped_column(ForeignKey("step_run.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    drama: Mapped[Drama] = relationship(back_populates="episodes")

    __table_args__ = (Index("ix_episode_drama_status", "drama_id", "status"),)


class Shot(Base):
    __tablename__ = "shot"
    id: Mapped[str] = mapped_column(String(220), primary_key=True)
    episode_id: Mapped[str] = mapped_column(ForeignKey("episode.id", ondelete="CASCADE"), index=True)
    shot_index: Mapped[int] = mapped_column(Integer)
    start_frame: Mapped[int] = mapped_column(Integer)  # inclusive, 0-based decode index
    end_frame: Mapped[int] = mapped_column(Integer)  # exclusive
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    transition_in: Mapped[str | None] = mapped_column(String(16))  # cut | dissolve | fade | None
    camera_movement: Mapped[str | None] = mapped_column(String(32))
    camera_speed: Mapped[float | None] = mapped_column(Float)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    step_run_id: Mapped[int | None] = mapped_column(ForeignKey("step_run.id"))
    __table_args__ = (UniqueConstraint("episode_id", "shot_index"),)


class Keyframe(Base):
    __tablename__ = "keyframe"
    id: Mapped[str] = mapped_column(String(220), primary_key=True)
    episode_id: Mapped[str] = mapped_column(ForeignKey("episode.id", ondelete="CASCADE"), index=True)
    shot_id: Mapped[str] = mapped_column(ForeignKey("shot.id", ondelete="CASCADE"), index=True)
    shot_index: Mapped[int] = mapped_column(Integer)
    frame_index: Mapped[int] = mapped_column(Integer)
    timestamp_s: Mapped[float] = mapped_column(Float)
    sharpness: Mapped[float | None] = mapped_column(Float)
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    invalid_reason: Mapped[str | None] = mapped_column(String(64))
    shot_type: Mapped[str | None] = mapped_column(String(32))
    text_area_ratio: Mapped[float | None] = mapped_column(Float)
    has_subtitle: Mapped[bool | None] = mapped_column(Boolean)
    face_count: Mapped[int | None] = mapped_column(Integer)
    private_key: Mapped[str | None] = mapped_column(Text)  # unmasked frame
    private_digest: Mapped[str | None] = mapped_column(String(80))
    public_key: Mapped[str | None] = mapped_column(Text)  # privacy-masked frame
    public_digest: Mapped[str | None] = mapped_column(String(80))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    step_run_id: Mapped[int | None] = mapped_column(ForeignKey("step_run.id"))
    __table_args__ = (UniqueConstraint("episode_id", "frame_index"),)


class Annotation(Base):
    """Versioned: a correction is a new version, never an overwrite. ``current`` marks the
    version in force; the natural key is (keyframe, kind, version)."""

    __tablename__ = "annotation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    keyframe_id: Mapped[str] = mapped_column(ForeignKey("keyframe.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # ocr | faces | keyinfo | ...
    version: Mapped[int] = mapped_column(Integer, default=1)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(64))  # which model / human produced it
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str | None] = mapped_column(String(128))  # annotator for manual corrections
    step_run_id: Mapped[int | None] = mapped_column(ForeignKey("step_run.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        UniqueConstraint("keyframe_id", "kind", "version"),
        Index("ix_annotation_current", "keyframe_id", "kind", "current"),
    )


class Loss(Base):
    """One row per dropped item: what, where, why. The loss rate is computed from these."""

    __tablename__ = "loss"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    drama_id: Mapped[str] = mapped_column(String(128), index=True)
    episode_id: Mapped[str | None] = mapped_column(String(200), index=True)
    item_kind: Mapped[str] = mapped_column(String(32))  # episode | keyframe | annotation | object
    item_id: Mapped[str] = mapped_column(String(260))
    step: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    raw_key: Mapped[str | None] = mapped_column(Text)  # e.g. a model's raw answer in the store
    step_run_id: Mapped[int | None] = mapped_column(ForeignKey("step_run.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # per drama: the same unreachable source in two dramas is two rows (migration 0006)
    __table_args__ = (
        UniqueConstraint("drama_id", "step", "item_id", "reason"),
        Index("ix_loss_item_id", "item_id"),  # trace: the losses of one keyframe or episode
    )


class StepRun(Base):
    """One attempt of one step on one episode (or drama): the lineage every write points at."""

    __tablename__ = "step_run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    step: Mapped[str] = mapped_column(String(64), index=True)
    step_version: Mapped[str] = mapped_column(String(32))
    drama_id: Mapped[str] = mapped_column(String(128), index=True)
    episode_id: Mapped[str | None] = mapped_column(String(200), index=True)
    model_id: Mapped[str | None] = mapped_column(Text)
    weights_digest: Mapped[str | None] = mapped_column(String(80))
    prompt_digest: Mapped[str | None] = mapped_column(String(80))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # the digest of what the step read (step version, parameters, the unit's rows and annotations):
    # a re-run whose inputs are unchanged since the last success is skipped (migration 0010)
    input_digest: Mapped[str | None] = mapped_column(String(80))
    dag_run_id: Mapped[str | None] = mapped_column(String(250))
    try_number: Mapped[int] = mapped_column(Integer, default=1)
    host: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | success | failed
    error: Mapped[str | None] = mapped_column(Text)
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_s: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_step_run_drama_status", "drama_id", "status"),)


class StepLease(Base):
    """Who is running a step on an episode right now, so that two runs of the same drama never
    interleave their writes. The holder is the DAG run (a retry of the same run re-enters its
    own lease); a lease past ``expires_at`` (a killed worker) can be taken over."""

    __tablename__ = "step_lease"
    drama_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    episode_id: Mapped[str] = mapped_column(String(200), primary_key=True)  # "" for drama-scope steps
    step: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(250))
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # the process holding it (migration 0007): a lease whose process is gone from this host is
    # taken over at once; a live one is renewed by a heartbeat, so ``expires_at`` stays short
    host: Mapped[str | None] = mapped_column(String(128))
    pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- calibration: review packets and their review state (migration 0004) --------------------


class CalibrationBatch(Base):
    """A seeded, stratified sample of keyframes from one or more dramas, reviewed by people and
    gated on accuracy. A failed batch is reworked and followed by a fresh batch (``parent_id``)."""

    __tablename__ = "calibration_batch"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dramas: Mapped[list[Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(Integer)  # packets drawn
    requested_size: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)  # keyframes the sample was drawn from
    strata: Mapped[dict[str, Any]] = mapped_column(JSON)  # stratum -> {population, drawn}
    round: Mapped[int] = mapped_column(Integer, default=1)
    parent_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | passed | failed | reworked
    min_accuracy: Mapped[float] = mapped_column(Float)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the accuracy report at gating
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CalibrationPacket(Base):
    """One keyframe of a batch: a snapshot of its annotations when drawn and the items to judge.

    ``keyframe_id`` is deliberately not a foreign key: the audit of a batch outlives a re-run that
    replaces keyframes."""

    __tablename__ = "calibration_packet"
    id: Mapped[str] = mapped_column(String(300), primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("calibration_batch.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    keyframe_id: Mapped[str] = mapped_column(String(220), index=True)
    drama_id: Mapped[str] = mapped_column(String(128), index=True)
    stratum: Mapped[str] = mapped_column(String(200))
    overlap: Mapped[bool] = mapped_column(Boolean, default=False)  # reviewed twice, for agreement
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)  # kind -> {version, source, payload}
    items: Mapped[list[Any]] = mapped_column(JSON)  # the fields and boxes to judge
    __table_args__ = (
        UniqueConstraint("batch_id", "position", name="uq_calibration_packet_batch_id"),
        UniqueConstraint("batch_id", "keyframe_id", name="uq_calibration_packet_batch_id_keyframe_id"),
    )


class PacketReview(Base):
    """One reviewer's pass over one packet: started, then submitted (corrections written)."""

    __tablename__ = "packet_review"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    packet_id: Mapped[str] = mapped_column(ForeignKey("calibration_packet.id", ondelete="CASCADE"), index=True)
    reviewer: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="in_progress")  # in_progress | submitted
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)  # its decisions count for accuracy
    versions: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # kind -> annotation version written
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (UniqueConstraint("packet_id", "reviewer"),)


class ItemReview(Base):
    """A reviewer's decision on one field or box of a packet: accept, fix (with the new value) or
    reject."""

    __tablename__ = "item_review"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("packet_review.id", ondelete="CASCADE"), index=True)
    item_key: Mapped[str] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(8))  # accept | fix | reject
    value: Mapped[Any] = mapped_column(JSON, nullable=True)  # the fixed value
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (UniqueConstraint("review_id", "item_key"),)


class Character(Base):
    """A drama's character (the entity library, paper 5.3): one row per person the characters step
    groups by face across shots and episodes. The id is stable (derived from the drama and the
    first appearance, kept by later runs); age group and gender are settled over all appearances."""

    __tablename__ = "character"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    drama_id: Mapped[str] = mapped_column(ForeignKey("drama.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    name_source: Mapped[str] = mapped_column(String(16))  # caption | numbered | human
    age_group: Mapped[str | None] = mapped_column(String(16))
    age_source: Mapped[str | None] = mapped_column(String(32))
    gender: Mapped[str | None] = mapped_column(String(16))
    gender_source: Mapped[str | None] = mapped_column(String(32))
    first_keyframe_id: Mapped[str | None] = mapped_column(String(220))
    appearances: Mapped[int] = mapped_column(Integer, default=0)
    episodes: Mapped[int] = mapped_column(Integer, default=0)
    step_run_id: Mapped[int | None] = mapped_column(ForeignKey("step_run.id"))


# per-shooting-script restoration state (migration 0008); imported here so the metadata matches the migrations
from skyscript.db.pairs import ScriptRestoration  # noqa: E402,F401
