"""Run one Helm SDK call in its own process (the Go runtime of helm-python-sdk stays out of the
test process, which also forks Airflow and Celery workers). Reads a JSON request on stdin, writes
a JSON answer on stdout: {"ok": result} or {"error": class name, "message": text}.

    {"op": "render", "chart": PATH, "values": {...}, "release": "prod", "namespace": "ns"}
    {"op": "lint", "chart": PATH, "values": {...}, "kube_version": "v1.32.0"}
    {"op": "validate_schema", "chart": PATH, "values": {...}}
    {"op": "schema", "chart": PATH}
"""

from __future__ import annotations

import json
import sys
from typing import Any


def handle(req: dict[str, Any]) -> Any:
    import helm_python

    op = req["op"]
    if op == "lint":
        return helm_python.lint(req["chart"], req.get("values") or {}, kube_version=req.get("kube_version"))
    with helm_python.Chart.load(req["chart"]) as chart:
        if op == "render":
            return chart.render(req.get("values") or {}, name=req["release"], namespace=req["namespace"], is_install=True)
        if op == "validate_schema":
            chart.validate_schema(req.get("values") or {})
            return None
        if op == "schema":
            return chart.schema
    raise ValueError(f"unknown op {op!r}")


def main() -> int:
    req = json.load(sys.stdin)
    try:
        out: dict[str, Any] = {"ok": handle(req)}
    except Exception as exc:  # noqa: BLE001 - reported to the test process as data
        out = {"error": type(exc).__name__, "message": str(exc)}
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
