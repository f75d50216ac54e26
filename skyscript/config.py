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
    decode_threads: int = Field(
        1, ge=0, le=64,
        description="decoder threads per episode; 1 (the default) spends the least CPU (about 0.5 CPU-s less per 2-minute 720p "
                    "episode than FFmpeg's frame threads) and still overlaps the analysis, which runs beside the decoder thread; "
                    "0 lets FFmpeg use every core (the least wall time for a lone episode on an idle machine)",
    )
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

    ocr_max_side: int = Field(
        480, ge=320,
        description="longest side of the text detection pass (lines are then recognised on full-resolution crops); "
                    "480 reads the same 720p subtitles, captions and name cards as 640 (47 of 48 lines each, glyphs "
                    "from 13 px) at half its CPU on frames without text",
    )
    ocr_min_score: float = Field(0.6, ge=0, le=1, description="text lines recognised with a lower score are dropped")
    ocr_threads: int = Field(
        1, ge=1, le=64,
        description="ONNX Runtime threads per OCR engine; 1 uses the least CPU per frame (parallelise with --jobs)",
    )
    subtitle_band: float = Field(0.3, gt=0, le=1, description="bottom share of the frame where subtitles live")
    subtitle_centre_tolerance: float = Field(0.15, gt=0, le=0.5, description="max offset of a subtitle line's centre from the frame centre, as a share of width")
    subtitle_min_width: float = Field(0.08, ge=0, le=1, description="narrowest subtitle line, as a share of frame width")
    name_card_max_chars: int = Field(16, ge=1, description="text outside subtitles at most this long is a name card / caption")
    mask_subtitles: bool = Field(True, description="mosaic subtitle lines too (they often name characters), not only captions")


class FaceSettings(BaseModel):
    """The face detector of the privacy step (BlazeFace proposals searched by Haar cascades + dlib HOG);
    shot size and key information read the faces it writes."""

    max_side: int = Field(800, ge=160, description="frames are scaled down to this longest side for face detection")
    min_px: int = Field(20, ge=8, description="smallest face side in pixels at detection scale")
    min_skin: float = Field(0.3, ge=0, le=1, description="share of skin-tone pixels a detection needs to count as a face")
    dlib_min_score: float = Field(0.15, description="dlib HOG score from which a box is a face detection (masked)")
    dlib_confirm: float = Field(0.25, description="dlib HOG score from which a face counts without a second detector agreeing")
    neural: Literal["full", "short", "none"] = Field(
        "full", description="BlazeFace variant run beside the cascades and dlib (its boxes are masked, not counted); none: off"
    )
    neural_min_score: float = Field(
        0.5, ge=0, le=1, description="BlazeFace score (whole frame and two tiles) from which a box is masked"
    )
    search: Literal["proposals", "exhaustive"] = Field(
        "proposals",
        description="proposals: BlazeFace proposes faces, dlib and the cascades search only "
                    "around them (about 20x less CPU); exhaustive: every pass over the whole frame at every scale",
    )
    roi_face_px: int = Field(60, ge=30, description="a proposal's neighbourhood is scaled so the face is about this high")
    roi_margin: float = Field(0.4, ge=0, le=3, description="neighbourhood searched around a proposal, in face sizes each side")


class PrivacySettings(BaseModel):
    """Parameters of the privacy step: how published keyframes are masked."""

    mosaic_block: int = Field(12, ge=2, description="mosaic cell size in pixels for privacy masking")
    mask_padding: float = Field(0.15, ge=0, le=1, description="masked regions grow by this share of their size on each side")
    jpeg_quality: int = Field(92, ge=50, le=100, description="JPEG quality of the published copy")
    face_cells: int = Field(8, ge=2, le=32, description="at most this many mosaic cells across a face (cells are sized from the face)")
    grow_top: float = Field(0.35, ge=0, le=2, description="a face region grows by this share of its height above the box (hair, forehead)")
    grow_bottom: float = Field(0.2, ge=0, le=2, description="a face region grows by this share of its height below the box (chin)")
    verify: bool = Field(True, description="check every masked frame with an independent face detector; withhold it when a face is found")
    verify_min_score: float = Field(0.6, ge=0, le=1, description="BlazeFace short-range score on the masked frame from which it is withheld")


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
    concurrency: int | None = Field(
        None, ge=1, le=256,
        description="restorations in flight at once; unset: the LLM endpoint's (SKYSCRIPT_LLM__CONCURRENCY, adaptive up to it)"
    )
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


class CharactersSettings(BaseModel):
    """Parameters of the characters step (the drama's entity library, paper 5.3)."""

    distance_threshold: float = Field(
        0.5, gt=0, lt=2, description="average-linkage cut on dlib face-descriptor distance: faces closer join one character"
    )
    min_face_px: int = Field(24, ge=16, description="faces smaller than this (height, pixels) give no descriptor")
    track_iou: float = Field(0.3, gt=0, le=1, description="a faceless person joins the character whose body box overlaps this much in the same shot")
    caption_max_distance: float = Field(
        0.6, gt=0, description="a name caption counts when its centre is within this share of the frame width of the face"
    )


class DepthSettings(BaseModel):
    """Parameters of the depth step (Depth Anything V2 through transformers)."""

    checkpoint: str = Field("depth-anything-v2-small", description="checkpoint folder under the model dir")
    backend: Literal["auto", "transformers", "none"] = Field(
        "auto", description="auto: transformers when the checkpoint is there, else depth is recorded as unavailable"
    )
    max_side: int = Field(518, ge=64, le=2048, description="longest side the frame is resized to for inference")
    device: str = Field("auto", description="torch device: auto (cuda when available), cpu, cuda:0")


class PoseSettings(BaseModel):
    """Parameters of the pose step (COCO-17 keypoints, AlphaPose JSON layout)."""

    backend: Literal["auto", "onnx", "ultralytics", "none"] = Field(
        "auto", description="auto: the ONNX file when present, else ultralytics when installed with its weights, else none"
    )
    onnx_file: str = Field("pose/rtmpose-s-coco17.onnx", description="ONNX top-down pose model (SimCC or heatmap output) under the model dir")
    ultralytics_weights: str = Field("pose/yolo11n-pose.pt", description="ultralytics pose weights under the model dir")
    min_score: float = Field(0.3, ge=0, le=1, description="keypoints below this score count as not visible")
    walk_heights_per_s: float = Field(0.3, gt=0, description="hip speed (person heights per second) from which a person walks (0.5 m/s)")
    run_heights_per_s: float = Field(1.5, gt=0, description="hip speed (person heights per second) from which a person runs (2.5 m/s)")


class LayoutSettings(BaseModel):
    """Parameters of the 3D layout step (paper 5.2, equation 1)."""

    hfov_deg: float = Field(60.0, gt=10, lt=150, description="assumed horizontal field of view of the camera")
    person_height_cm: float = Field(165.0, gt=50, lt=250, description="body-height prior of an adult")
    child_height_cm: float = Field(120.0, gt=50, lt=250, description="body-height prior of a child")
    face_height_cm: float = Field(15.0, gt=5, lt=50, description="height of a frontal face detector box (about brow to chin) on an adult, in centimetres")
    camera_height_cm: float = Field(150.0, gt=0, lt=1000, description="camera height above the floor when no feet are visible")
    object_size_cm: float = Field(40.0, gt=1, description="assumed size of an object whose depth has no other cue")
    max_speed_cm_s: float = Field(1000.0, gt=0, description="faster moves between keyframes of a shot are flagged")
    min_correspondences: int = Field(6, ge=6, description="2D-3D points needed for a DLT projection matrix")


class EmotionSettings(BaseModel):
    """Parameters of the continuous-emotion step (paper 3.1)."""

    smoothing: float = Field(0.5, ge=0, le=1, description="exponential smoothing weight of the previous keyframe (0: none)")


class HighlightSettings(BaseModel):
    """The highlight curve (paper 5.1): a weighted sum of arousal-driven components, after Hanjalic and Xu."""

    w_arousal: float = Field(0.45, ge=0, description="weight of the characters' mean arousal")
    w_valence_swing: float = Field(0.2, ge=0, description="weight of the valence change since the previous keyframe")
    w_cut_density: float = Field(0.2, ge=0, description="weight of the shot-cut density around the keyframe")
    w_motion: float = Field(0.15, ge=0, description="weight of the camera motion of the shot")
    cut_window_s: float = Field(10.0, gt=0, description="window for the cut density")
    cuts_per_s_max: float = Field(1.0, gt=0, description="cut density mapped to 1.0")
    motion_max: float = Field(0.5, gt=0, description="camera speed (frame widths per second) mapped to 1.0")
    smooth_sigma: float = Field(1.5, ge=0, description="Gaussian smoothing of the curve, in keyframes (Hanjalic and Xu use a Kaiser window)")
    scale: float = Field(5.0, gt=0, description="the score's maximum (Table 1 prints 0-5)")


class SourceSettings(BaseModel):
    """What ingest may fetch: an SSRF guard for http(s) sources and limits on downloads."""

    allow_private: bool = Field(
        False, description="fetch from loopback, private (RFC 1918) and link-local addresses too (never in production)"
    )
    allow_hosts: list[str] = Field(
        default_factory=list, description="hosts (or host:port) always allowed, e.g. an internal CDN's name"
    )
    max_download_mb: float = Field(20_000, gt=0, description="largest episode a download may be")
    download_timeout_s: float = Field(3600, gt=0, description="longest one download may take, start to end")


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
    """An OpenAI-compatible chat endpoint (lmdeploy api_server, vLLM, transformers serve, ...)."""

    url: str | None = Field(None, description="base URL, e.g. http://host:23333/v1; unset: no model server")
    model: str | None = Field(
        None, description="model name the requests carry; unset: the one the server lists at GET /v1/models (or its own)"
    )
    api_key: SecretStr = SecretStr("none")
    timeout_s: float = Field(120.0, gt=0, description="seconds one attempt may take")
    max_retries: int = Field(
        3, ge=0, description="retries of timeouts, connection errors and HTTP 408/409/425/429/502/503/504 (a 500 is retried once)"
    )
    concurrency: int = Field(4, ge=1, description="most requests in flight")
    adaptive_concurrency: bool = Field(
        True, description="start at one request in flight and grow to `concurrency` while latency holds; back off on timeouts, 429/503, queueing"
    )
    latency_tolerance: float = Field(
        1.8, gt=1.0, description="latency per generated token above this multiple of the best recent one counts as queueing"
    )
    max_tokens: int = Field(
        4096, ge=16, description="most tokens one answer may generate; a truncated answer is retried once with twice the room, up to this"
    )


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
    sources: SourceSettings = Field(default_factory=SourceSettings)
    calibration: CalibrationSettings = Field(default_factory=CalibrationSettings)
    characters: CharactersSettings = Field(default_factory=CharactersSettings)
    depth: DepthSettings = Field(default_factory=DepthSettings)
    pose: PoseSettings = Field(default_factory=PoseSettings)
    layout: LayoutSettings = Field(default_factory=LayoutSettings)
    emotion: EmotionSettings = Field(default_factory=EmotionSettings)
    highlight: HighlightSettings = Field(default_factory=HighlightSettings)
    llm: ModelEndpoint = Field(default_factory=ModelEndpoint)
    scenes: ScenesSettings = Field(default_factory=ScenesSettings)
    pairs: PairsSettings = Field(default_factory=PairsSettings)
    relationships: RelationshipSettings = Field(default_factory=RelationshipSettings)
    mode: ExecutionMode = ExecutionMode.local
    step_lease_s: float = Field(
        300, gt=0, description="a step lease lasts this long after its holder's last heartbeat (renewed every third of it)"
    )
    run_lease_s: float = Field(
        1800, gt=0, description="a run's hold on its drama lasts this long after its last step (a DAG run between tasks)"
    )
    run_wait_s: float = Field(
        0, ge=0, description="how long `skyscript run` waits for another run of the same drama to finish (0: exit at once)"
    )
    cv_threads: int = Field(
        1, ge=0, le=64,
        description="OpenCV worker threads per process (0: one per core); 1 spends the least CPU per frame, "
                    "episodes run side by side with --jobs",
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
        """The settings with secrets masked, for logs and `skyscript config`: SecretStr fields
        print as ``**********``, and passwords or tokens inside URLs as ``***``."""
        from skyscript.ids import redact_url

        def scrub(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: scrub(v) for k, v in value.items()}
            if isinstance(value, list):
                return [scrub(v) for v in value]
            return redact_url(value) if isinstance(value, str) and "://" in value else value

        return scrub(self.model_dump(mode="json"))


# SKYSCRIPT_* variables read by other parts of the platform, not by Settings
OTHER_VARIABLES = ("CONFIG", "EXTRA_STEPS", "FAULT_KILL", "SAMPLES", "TEST_PG", "TORCH")
OTHER_PREFIXES = ("ORCH_",)  # the orchestration settings (skyscript.orchestration.config)


def unknown_variables(environ: dict[str, str] | None = None) -> list[tuple[str, str | None]]:
    """``SKYSCRIPT_*`` variables that name no setting, each with the closest valid name (a
    misspelt ``SKYSCRIPT_THRESHOLDS__MAX_LOS_RATE`` would otherwise be ignored in silence)."""
    import difflib

    env = os.environ if environ is None else environ
    out: list[tuple[str, str | None]] = []
    for key in sorted(env):
        if not key.startswith("SKYSCRIPT_"):
            continue
        rest = key[len("SKYSCRIPT_"):]
        if rest in OTHER_VARIABLES or rest.startswith(OTHER_PREFIXES):
            continue
        top, _, sub = rest.lower().partition("__")
        fields = Settings.model_fields
        if top not in fields:
            near = difflib.get_close_matches(top, list(fields), n=1)
            out.append((key, f"SKYSCRIPT_{near[0].upper()}" if near else None))
            continue
        if not sub:
            continue
        annotation = fields[top].annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        if model is not None and sub.split("__")[0] not in model.model_fields:
            near = difflib.get_close_matches(sub, list(model.model_fields), n=1)
            out.append((key, f"SKYSCRIPT_{top.upper()}__{near[0].upper()}" if near else None))
    return out


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
