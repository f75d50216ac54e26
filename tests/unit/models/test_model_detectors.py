"""Open-vocabulary detector adapters.

The adapters' plumbing (pre-processing, the model call, post-processing, mapping phrases back to
the vocabulary, boxes in frame pixels, loading from the model directory) is exercised with
RANDOMLY INITIALISED models built from small configs: their detections are meaningless, so
these tests assert structure, never what is detected. They need torch (+ transformers /
ultralytics) and are skipped without them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from skyscript.config import Settings
from skyscript.models.detectors import load_detector, match_vocabulary
from skyscript.models.weights import MissingWeights


def test_match_vocabulary() -> None:
    vocab = ["cup", "dining table", "person", "wine glass"]
    assert match_vocabulary("cup", vocab) == "cup"
    assert match_vocabulary("Dining Table", vocab) == "dining table"
    assert match_vocabulary("table", vocab) == "dining table"  # phrase inside an entry
    assert match_vocabulary("a cup of tea", vocab) == "cup"  # entry inside the phrase
    assert match_vocabulary("glass vase", vocab) == "wine glass"  # word overlap
    assert match_vocabulary("glass vase", vocab, overlap=False) is None
    assert match_vocabulary("dog", vocab) is None
    assert match_vocabulary("", vocab) is None


def test_missing_detector_weights_are_a_clear_error(tmp_path: Path) -> None:
    s = Settings(home=tmp_path)
    assert load_detector(s, "none") is None
    with pytest.raises(MissingWeights, match="missing file grounding-dino-tiny .*SKYSCRIPT_MODEL_DIR"):
        load_detector(s, "grounding_dino")
    with pytest.raises(MissingWeights, match="missing file yolov8s-worldv2.pt"):
        load_detector(s, "yolo_world")
    with pytest.raises(ValueError, match="unknown detector 'owl'"):
        load_detector(s, "owl")


def _tiny_grounding_dino(vocab_words: list[str]):  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from transformers import (
        BertConfig,
        BertTokenizerFast,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessor,
        GroundingDinoProcessor,
        SwinConfig,
    )

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "."]
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(specials + vocab_words)}, do_lower_case=True)
    torch.manual_seed(0)
    cfg = GroundingDinoConfig(
        backbone_config=SwinConfig(embed_dim=24, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1], window_size=7,
                                   out_features=["stage2", "stage3", "stage4"]),
        text_config=BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=64, max_position_embeddings=64),
        d_model=32, encoder_layers=1, decoder_layers=2, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_ffn_dim=64, decoder_ffn_dim=64, num_queries=30, num_feature_levels=3, encoder_n_points=2,
        decoder_n_points=2, max_text_len=32,
    )
    model = GroundingDinoForObjectDetection(cfg).eval()
    proc = GroundingDinoProcessor(
        image_processor=GroundingDinoImageProcessor(size={"shortest_edge": 160, "longest_edge": 240}), tokenizer=tok)
    return model, proc, transformers


def test_grounding_dino_adapter_with_random_weights() -> None:
    """RANDOM WEIGHTS: proves the plumbing only."""
    from skyscript.models.detectors import GroundingDinoDetector

    model, proc, _ = _tiny_grounding_dino(["person", "cup", "chair", "table"])
    det = GroundingDinoDetector(model, proc, box_threshold=0.0, text_threshold=0.0, device="cpu")
    img = (np.random.default_rng(0).random((120, 200, 3)) * 255).astype(np.uint8)
    out = det.detect(img, ["Cup", "chair", "person", "cup"])
    assert out, "with zero thresholds a random model still returns its queries"
    assert {d.label for d in out} <= {"cup", "chair", "person"}
    assert all(0 <= d.box[0] < d.box[2] <= 200 and 0 <= d.box[1] < d.box[3] <= 120 for d in out)
    assert [d.score for d in out] == sorted((d.score for d in out), reverse=True)
    det.phrases_per_pass = 1  # a long vocabulary is split into passes, each mapped back to its own phrase
    assert {d.label for d in det.detect(img, ["cup", "chair"])} <= {"cup", "chair"}


def test_grounding_dino_loads_from_the_model_dir_and_rejects_a_toy_tokenizer(tmp_path: Path) -> None:
    """RANDOM WEIGHTS saved as a checkpoint folder, loaded back through from_model_dir."""
    from skyscript.models.detectors import GroundingDinoDetector

    model, proc, _ = _tiny_grounding_dino(["person", "cup"])
    model.save_pretrained(tmp_path / "gd-toy")
    proc.save_pretrained(tmp_path / "gd-toy")
    s = Settings(home=tmp_path, model_dir=tmp_path)
    with pytest.raises(MissingWeights, match="tokenizer in .* has only 8 tokens"):
        GroundingDinoDetector.from_model_dir(s, "gd-toy")
    words = ["person", "cup"] + [f"w{i}" for i in range(1200)]
    model, proc, _ = _tiny_grounding_dino(words)
    model.save_pretrained(tmp_path / "gd-big")
    proc.save_pretrained(tmp_path / "gd-big")
    det = GroundingDinoDetector.from_model_dir(s, "gd-big", box_threshold=0.0, text_threshold=0.0, device="cpu")
    assert det.model_id == "grounding-dino:gd-big" and det.weights_digest.startswith("sha256:")
    img = (np.random.default_rng(1).random((90, 160, 3)) * 255).astype(np.uint8)
    assert {d.label for d in det.detect(img, ["cup", "person"])} <= {"cup", "person"}


def test_yolo_adapter_with_random_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """RANDOM WEIGHTS (YOLO('yolov8n.yaml'), a closed-vocabulary model): proves the plumbing only."""
    pytest.importorskip("torch")
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    monkeypatch.setenv("YOLO_AUTOINSTALL", "false")
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path))
    ultralytics = pytest.importorskip("ultralytics")
    from skyscript.models.detectors import YoloWorldDetector

    det = YoloWorldDetector(ultralytics.YOLO("yolov8n.yaml"), conf=0.0)
    assert det.open_vocabulary is False
    img = (np.random.default_rng(2).random((160, 224, 3)) * 255).astype(np.uint8)
    vocab = ["person", "cup", "dining table", "unicorn"]
    out = det.detect(img, vocab)
    assert {d.label for d in out} <= {"person", "cup", "dining table"}  # "unicorn" is no COCO class
    assert all(0 <= d.box[0] < d.box[2] <= 224 and 0 <= d.box[1] < d.box[3] <= 160 for d in out)
    assert det.detect(img, []) == []
