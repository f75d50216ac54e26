"""One settings object for the whole platform.

Every value can come from the environment (prefix ``SKYSCRIPT_``, nested fields joined with
``__``), from a TOML file named by ``SKYSCRIPT_CONFIG`` (or passed to :func:`load_settings`),
or from its default. The defaults are the *embedded default*: SQLite and a local-directory
object store under ``SKYSCRIPT_HOME`` (``~/.skyscript``), so nothing needs configuring on a
laptop.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_home() -> Path:
    return Path(os.environ.get("SKYSCRIPT_HOME") or Path.home() / ".skyscript").expanduser()


class ExecutionMode(str, Enum):
    local = "local"
    kubernetes = "kubernetes"


class Thresholds(BaseModel):
    """The two gates of the paper: loss at most 4%, calibrated accuracy at least 90%."""

    max_loss_rate: float = Field(0.04, ge=0.0, le=1.0)
    min_accuracy: float = Field(0.90, ge=0.0, le=1.0)


class VideoSettings(BaseModel):
    """Parameters of the CPU video stage."""

    analysis_width: int = Field(320, ge=64, description="width keyframe candidates are scaled to for the quality (blur, occlusion) check")
    pass_width: int = Field(
        128, ge=32, description="width every decoded frame is reduced to for cuts, fades, dissolves, motion and sharpness ranking"
    )
    pass_interpolation: Literal["area", "fast_bilinear"] = Field(
        "fast_bilinear", description="FFmpeg scaler used for the per-frame reduction (fast_bilinear: cheaper, some aliasing)"
    )
    content_threshold: float = Field(27.0, gt=0, description="PySceneDetect ContentDetector threshold")
    adaptive_threshold: float = Field(3.0, gt=0, description="PySceneDetect AdaptiveDetector threshold")
    min_shot_frames: int = Field(8, ge=1, description="shortest shot, in frames")
    keyframes_per_shot: int = Field(1, ge=1, le=16)
    keyframe_window_s: float = Field(0.5, gt=0, description="candidate window: the sharpest frame of each is kept")
    duplicate_hash_distance: int = Field(6, ge=0, description="max dHash Hamming distance for near-duplicates")
    blur_threshold: float = Field(40.0, ge=0, description="variance of Laplacian below which a frame is blurred")
    occlusion_threshold: float = Field(0.6, ge=0, le=1, description="share of flat cells from which a frame may be occluded")
    occlusion_rise: float = Field(
        0.3, ge=0, le=1, description="an occluded frame is at least this much flatter than its shot's clear frames (a plain wall is not)"
    )
    occlusion_blank: float = Field(0.97, ge=0, le=1, description="share of flat cells from which a frame is occluded whatever its shot")
    subtitle_band: float = Field(0.3, gt=0, le=1, description="bottom share of the frame where subtitles live")
    jpeg_quality: int = Field(92, ge=50, le=100)
    mosaic_block: int = Field(12, ge=2, description="mosaic cell size in pixels for privacy masking")
    # --- the single-pass scan (skyscript/video/scan.py) ---
    motion_blur_threshold: float = Field(
        100.0, ge=0, description="second-derivative energy of the weakest direction below which a frame is smeared"
    )
    candidate_memory_mb: float = Field(
        256, gt=0, description="full-size keyframe candidates held in memory during the pass; beyond it the oldest are JPEG-encoded to disk"
    )
    min_side: int = Field(
        64, ge=0, description="episodes whose picture is smaller than this on its shorter side are quarantined (too_small)"
    )
    min_decoded_ratio: float = Field(0.95, ge=0, le=1, description="share of the header's frames that must decode")
    motion_pairs_per_s: float = Field(6.0, gt=0, description="frame pairs per second used for camera motion")
    motion_width: int = Field(160, ge=64, description="width of the grey frames camera motion is estimated on")
    thumb_width: int = Field(32, ge=16, description="width of the grey thumbnails kept per frame for transitions")
    fade_flat_std: float = Field(6.0, ge=0, description="grey std below which a frame is flat (faded out)")
    fade_max_s: float = Field(2.0, gt=0, description="longest fade ramp, each side of the flat frames")
    dissolve_min_change: float = Field(18.0, gt=0, description="mean grey change across a dissolve (thumbnail, 0-255)")
    dissolve_max_blend_error: float = Field(
        0.3, gt=0, le=1, description="dissolve: middle frame's distance to the blend of its ends, relative to the change"
    )
    dissolve_max_s: float = Field(2.0, gt=0, description="longest dissolve considered")
    dissolve_motion_compensation: bool = Field(
        True, description="carry a dissolve's ends to its centre along their shots' motion (dissolves between moving shots)"
    )
    dissolve_min_overlap: float = Field(
        0.25, gt=0, le=1, description="smallest share of the thumbnail both motion-carried ends must still cover"
    )
    camera_min_speed: float = Field(0.03, ge=0, description="pan/tilt trend, frame sizes per second, below which it is no movement")
    camera_min_zoom: float = Field(0.04, ge=0, description="zoom trend, log scale per second, below which it is no zoom")
    camera_jitter: float = Field(0.04, ge=0, description="frame sizes per second of trendless shake that makes a shot handheld")
    # text (OCR), privacy masking and shot size (skyscript.video.ocr / faces / privacy / shot_size)
    ocr_max_side: int = Field(960, ge=320, description="frames are scaled down to this longest side before OCR")
    ocr_min_score: float = Field(0.6, ge=0, le=1, description="text lines recognised with a lower score are dropped")
    subtitle_centre_tolerance: float = Field(0.15, gt=0, le=0.5, description="max offset of a subtitle line's centre from the frame centre, as a share of width")
    subtitle_min_width: float = Field(0.08, ge=0, le=1, description="narrowest subtitle line, as a share of frame width")
    name_card_max_chars: int = Field(16, ge=1, description="text outside subtitles at most this long is a name card / caption")
    mask_subtitles: bool = Field(True, description="mosaic subtitle lines too (they often name characters), not only captions")
    mask_padding: float = Field(0.15, ge=0, le=1, description="masked regions grow by this share of their size on each side")
    face_max_side: int = Field(800, ge=160, description="frames are scaled down to this longest side for face detection")
    face_min_px: int = Field(20, ge=8, description="smallest face side in pixels at detection scale")
    face_min_skin: float = Field(0.3, ge=0, le=1, description="share of skin-tone pixels a detection needs to count as a face")
    face_dlib_min_score: float = Field(0.15, description="dlib HOG score from which a box is a face detection (masked)")
    face_dlib_confirm: float = Field(
        0.25, description="dlib HOG score from which a face counts without a second detector agreeing"
    )
    shot_face_ratios: tuple[float, float, float, float] = Field(
        (0.05, 0.12, 0.28, 0.75),
        description="face height / frame height where full, medium, close_up and extreme_close_up begin",
    )
    shot_full_person_ratio: float = Field(0.5, gt=0, le=2, description="person box height / frame height from which a faceless person is a full shot")


class CalibrationSettings(BaseModel):
    """Calibration batches (paper section 3.5: 200-500 packets reviewed, repaired until accuracy
    exceeds 90%) and the accuracy gate."""

    batch_size: int = Field(200, ge=1, description="packets drawn per batch (the paper's range is 200-500)")
    overlap_share: float = Field(0.1, ge=0, le=1, description="share of packets reviewed by two people, for agreement")
    confidence: float = Field(0.95, gt=0, lt=1, description="confidence level of the Wilson interval")
    gate_on: Literal["lower_bound", "point"] = Field(
        "lower_bound", description="the accuracy gate compares this to thresholds.min_accuracy"
    )
    strata: tuple[str, ...] = Field(
        ("drama", "shot_type", "has_people", "model_source"), description="keyframe attributes the sample is stratified by"
    )
    exclude_reviewed: bool = Field(True, description="a new batch skips keyframes an earlier batch of its dramas drew")
    max_rounds: int = Field(5, ge=1, description="rework-and-resample rounds before the calibration DAG gives up")
    review_poke_s: float = Field(300, ge=1, description="how often the calibration DAG checks whether a batch is reviewed")
    review_timeout_h: float = Field(72, gt=0, description="how long the calibration DAG waits for a batch's reviews")


class ModelEndpoint(BaseModel):
    """An OpenAI-compatible chat endpoint (lmdeploy api_server, vLLM, ...)."""

    url: str | None = None
    model: str = "internvl2"
    api_key: SecretStr = SecretStr("none")
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(3, ge=0)
    concurrency: int = Field(4, ge=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SKYSCRIPT_",
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )

    home: Path = Field(default_factory=default_home, description="data directory of the embedded default")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite under home")
    store_url: str | None = Field(
        None, description="file:///path or s3://host:port (add ?secure=true for TLS); default a folder under home"
    )
    store_access_key: SecretStr | None = None
    store_secret_key: SecretStr | None = None
    store_region: str | None = None
    private_bucket: str = "skyscript-private"
    public_bucket: str = "skyscript-public"
    presign_expiry_s: int = Field(3600, ge=60, le=7 * 24 * 3600)
    ingest_rehash: bool = Field(
        False, description="digest every local source file on re-ingest, even when its path, size and mtime are unchanged"
    )
    model_dir: Path | None = Field(None, description="where model weights are resolved; default home/models")
    vlm: ModelEndpoint = Field(default_factory=ModelEndpoint)
    correction: ModelEndpoint = Field(default_factory=lambda: ModelEndpoint(model="json-corrector"))
    thresholds: Thresholds = Field(default_factory=Thresholds)
    video: VideoSettings = Field(default_factory=VideoSettings)
    calibration: CalibrationSettings = Field(default_factory=CalibrationSettings)
    mode: ExecutionMode = ExecutionMode.local
    step_lease_s: float = Field(
        6 * 3600, gt=0, description="how long a run holds a step on an episode before another run may take it over"
    )
    log_level: str = "INFO"

    @field_validator("home", "model_dir", mode="after")
    @classmethod
    def _expand(cls, v: Path | None) -> Path | None:
        return v.expanduser().resolve() if v is not None else None

    @model_validator(mode="after")
    def _fill_defaults(self) -> "Settings":
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.home / 'lineage.db'}"
        if self.store_url is None:
            self.store_url = (self.home / "store").as_uri()
        if self.model_dir is None:
            self.model_dir = self.home / "models"
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("SKYSCRIPT_CONFIG")
        if config_file:
            path = Path(config_file).expanduser()
            if not path.is_file():
                raise FileNotFoundError(f"SKYSCRIPT_CONFIG names {path}, which does not exist")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def public_dict(self) -> dict[str, Any]:
        """The settings with secrets masked, for logs and `skyscript config`."""
        return self.model_dump(mode="json")


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build the settings; an explicit config file wins over ``SKYSCRIPT_CONFIG``."""
    if config_file is not None:
        old = os.environ.get("SKYSCRIPT_CONFIG")
        os.environ["SKYSCRIPT_CONFIG"] = str(config_file)
        try:
            return Settings(**overrides)
        finally:
            if old is None:
                os.environ.pop("SKYSCRIPT_CONFIG", None)
            else:
                os.environ["SKYSCRIPT_CONFIG"] = old
    return Settings(**overrides)
