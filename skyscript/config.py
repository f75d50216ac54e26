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


class ScanSettings(BaseModel):
    """Parameters of the probe and scan steps: the single decode pass over an episode."""

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
    jpeg_quality: int = Field(92, ge=50, le=100)
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


class TextSettings(BaseModel):
    """Parameters of the text step (OCR of keyframes, subtitle and caption layout)."""

    ocr_max_side: int = Field(960, ge=320, description="frames are scaled down to this longest side before OCR")
    ocr_min_score: float = Field(0.6, ge=0, le=1, description="text lines recognised with a lower score are dropped")
    subtitle_band: float = Field(0.3, gt=0, le=1, description="bottom share of the frame where subtitles live")
    subtitle_centre_tolerance: float = Field(0.15, gt=0, le=0.5, description="max offset of a subtitle line's centre from the frame centre, as a share of width")
    subtitle_min_width: float = Field(0.08, ge=0, le=1, description="narrowest subtitle line, as a share of frame width")
    name_card_max_chars: int = Field(16, ge=1, description="text outside subtitles at most this long is a name card / caption")
    mask_subtitles: bool = Field(True, description="mosaic subtitle lines too (they often name characters), not only captions")


class FaceSettings(BaseModel):
    """The face detector the privacy and shot-size steps share (Haar cascades + dlib HOG)."""

    max_side: int = Field(800, ge=160, description="frames are scaled down to this longest side for face detection")
    min_px: int = Field(20, ge=8, description="smallest face side in pixels at detection scale")
    min_skin: float = Field(0.3, ge=0, le=1, description="share of skin-tone pixels a detection needs to count as a face")
    dlib_min_score: float = Field(0.15, description="dlib HOG score from which a box is a face detection (masked)")
    dlib_confirm: float = Field(0.25, description="dlib HOG score from which a face counts without a second detector agreeing")


class PrivacySettings(BaseModel):
    """Parameters of the privacy step: how published keyframes are masked."""

    mosaic_block: int = Field(12, ge=2, description="mosaic cell size in pixels for privacy masking")
    mask_padding: float = Field(0.15, ge=0, le=1, description="masked regions grow by this share of their size on each side")
    jpeg_quality: int = Field(92, ge=50, le=100, description="JPEG quality of the published copy")


class ShotSizeSettings(BaseModel):
    """Parameters of the shot-size step (see skyscript.video.shot_size for the mapping)."""

    face_ratios: tuple[float, float, float, float] = Field(
        (0.05, 0.12, 0.28, 0.75),
        description="face height / frame height where full, medium, close_up and extreme_close_up begin",
    )
    full_person_ratio: float = Field(0.5, gt=0, le=2, description="person box height / frame height from which a faceless person is a full shot")


class KeyInfoSettings(BaseModel):
    """Parameters of the keyinfo step (``SKYSCRIPT_KEYINFO__*``, ``--param keyinfo.NAME=...``)."""

    vlm_backend: Literal["endpoint", "lmdeploy"] = Field(
        "endpoint", description="endpoint: settings.vlm (OpenAI-compatible); lmdeploy: in-process pipeline (GPU image)"
    )
    lmdeploy_model: str = Field("InternVL2-8B", description="model folder under the model dir for the lmdeploy backend")
    images_per_request: int = Field(4, ge=1, le=16, description="keyframes of one shot per VLM request")
    max_tokens: int = Field(2048, ge=128)
    detector: Literal["none", "grounding_dino", "yolo_world"] = "none"
    detector_weights: str | None = Field(None, description="path under the model dir; adapter default if None")
    face_backend: Literal["auto", "offline", "deepface", "none"] = "auto"
    tta: bool = True
    offline_vocabulary: tuple[str, ...] = (
        "cup", "glass", "bottle", "chair", "table", "sofa", "bed", "phone", "laptop", "book", "bag", "car",
        "door", "window", "lamp", "candle", "plate", "bowl", "knife", "flower", "clock", "television",
    )

    @field_validator("offline_vocabulary", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        return tuple(w.strip() for w in v.split(",") if w.strip()) if isinstance(v, str) else v


class ScenesSettings(BaseModel):
    """Parameters of the scenes step (``SKYSCRIPT_SCENES__*``): how shots are grouped into scenes."""

    background_threshold: float = Field(
        0.5, ge=-1, le=1, description="histogram correlation of frame borders below which a shot starts a new scene"
    )
    lookback: int = Field(4, ge=1, le=16, description="a shot continues the scene if it resembles any of its last N shots (shot/reverse-shot)")
    night_value: float = Field(70.0, ge=0, le=255, description="median brightness below which a dark frame is NIGHT (offline estimate)")
    sky_share: float = Field(0.25, ge=0, le=1, description="share of sky-like pixels in the top band from which a scene is EXT (offline estimate)")
    use_vlm: bool = Field(True, description="ask the VLM (SKYSCRIPT_VLM__URL) for INT/EXT, location, time and a description when configured")
    vlm_images: int = Field(3, ge=1, le=8, description="masked keyframes per scene sent to the VLM")


class PairsSettings(BaseModel):
    """Parameters of the script_pairs step (``SKYSCRIPT_PAIRS__*``): script restorations by the LLM."""

    restorations: int = Field(100, ge=1, le=10000, description="restorations requested per shooting script (the paper: 100)")
    temperatures: tuple[float, ...] = Field(
        (0.7, 0.9, 1.1), description="temperatures cycled over the restorations (restoration i uses temperatures[i % n])"
    )
    base_seed: int = Field(1009, ge=0, description="restoration i of a script uses seed hash(script, base_seed, i)")
    max_tokens: int = Field(1200, ge=64, description="most tokens one restoration may generate")
    concurrency: int = Field(4, ge=1, le=256, description="restorations in flight at once")
    min_chars: int = Field(200, ge=1, description="a restoration shorter than this is rejected")
    max_chars: int = Field(12000, ge=100, description="a restoration longer than this is rejected")
    duplicate_similarity: float = Field(
        0.97, gt=0, le=1, description="cosine similarity (all-MiniLM-L6-v2) from which a restoration is a near-duplicate"
    )
    embeddings: bool = Field(True, description="near-duplicate filter on sentence embeddings (False: normalised text only)")
    gpu_seconds_per_1k_tokens: float = Field(
        0.5, gt=0, description="measured GPU-seconds per 1,000 generated tokens of the serving setup, for the GPU-hours estimate"
    )

    @field_validator("temperatures", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        return tuple(float(t) for t in v.split(",") if t.strip()) if isinstance(v, str) else v


class RelationshipSettings(BaseModel):
    """Parameters of the relationships step (``SKYSCRIPT_RELATIONSHIPS__*``)."""

    window_s: float = Field(60.0, gt=0, description="relationship strength is reported per window of this many seconds")
    decay: float = Field(0.5, ge=0, le=1, description="share of a window's strength carried into the next one")


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
    scan: ScanSettings = Field(default_factory=ScanSettings)
    text: TextSettings = Field(default_factory=TextSettings)
    faces: FaceSettings = Field(default_factory=FaceSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    shot_size: ShotSizeSettings = Field(default_factory=ShotSizeSettings)
    keyinfo: KeyInfoSettings = Field(default_factory=KeyInfoSettings)
    llm: ModelEndpoint = Field(default_factory=lambda: ModelEndpoint(model="script-model"))
    scenes: ScenesSettings = Field(default_factory=ScenesSettings)
    pairs: PairsSettings = Field(default_factory=PairsSettings)
    relationships: RelationshipSettings = Field(default_factory=RelationshipSettings)
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
