"""Render the Helm chart the way `helm template` does, without a helm binary or a cluster.

`helm-python-sdk` binds Helm's own Go SDK (v4; the same template engine, Sprig functions,
`required`/`fail`, `lookup` answering empty offline). `helm-sdkpy` (the package the issue names)
has lint but no render call, so it lints and this renders. Every Helm call runs in a child process
(helm_worker.py): the Go runtime never enters the test process.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import yaml

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "helm" / "skyscript"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
RELEASE = "prod"
NAMESPACE = "skyscript"
# the cluster versions the chart supports (Chart.yaml kubeVersion >= 1.32); validated at both ends
# and in the middle
KUBE_VERSIONS = ("1.32.0", "1.34.0", "1.37.0")
DIGEST = "9f2c5d1e8b7a6c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"
# the least a default install needs: the weights digest of the VLM
BASE_VALUES: dict[str, Any] = {"modelServers": {"vlm": {"weights": {"manifestSha256": DIGEST}}}}


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def values_file(name: str) -> dict[str, Any]:
    return yaml.safe_load((CHART / "ci" / name).read_text()) or {}


@dataclass
class Rendered:
    """A rendered release: its Kubernetes objects and NOTES.txt."""

    objects: list[dict[str, Any]]
    notes: str
    sources: dict[int, str] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered; have {self.names(kind)}"
        return found[0]

    def names(self, kind: str) -> list[str]:
        return [o["metadata"]["name"] for o in self.of_kind(kind)]

    def pod_specs(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(object, pod spec) of every workload."""
        for o in self.objects:
            if o["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
                yield o, o["spec"]["template"]["spec"]


class HelmFailure(Exception):
    """A Helm call failed (bad values, a template error): the SDK's error class and message."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


def helm(op: str, **request: Any) -> Any:
    """One helm-python-sdk call on the chart, in a child process (see helm_worker.py)."""
    return helm_at(CHART, op, **request)


def helm_at(chart: Path, op: str, **request: Any) -> Any:
    payload = json.dumps({"op": op, "chart": str(chart), **request})
    res = subprocess.run([sys.executable, str(Path(__file__).with_name("helm_worker.py"))], input=payload,
                         capture_output=True, text=True, timeout=120)
    if res.returncode != 0 or not res.stdout.strip():
        raise RuntimeError(f"helm worker failed ({res.returncode}): {res.stderr[-2000:]}")
    answer = json.loads(res.stdout)
    if "error" in answer:
        raise HelmFailure(answer["error"], answer["message"])
    return answer["ok"]


def render(values: dict[str, Any] | None = None, *, release: str = RELEASE, namespace: str = NAMESPACE) -> Rendered:
    out: dict[str, str] = helm("render", values=values or {}, release=release, namespace=namespace)
    objects: list[dict[str, Any]] = []
    notes = ""
    for path, text in sorted(out.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                objects.append(doc)
    return Rendered(objects, notes)


@lru_cache(maxsize=None)
def _cached(key: str) -> Rendered:
    name = key or None
    values = merge(BASE_VALUES, values_file(name)) if name else BASE_VALUES
    return render(values)


def rendered(ci_file: str | None = None) -> Rendered:
    """The chart rendered with the base values, or with a file of helm/skyscript/ci/ (cached)."""
    return _cached(ci_file or "")
