"""Imports one DAG file in a fresh interpreter with database and network access forbidden and
prints what happened as JSON (used by test_dag_integrity.py)."""

from __future__ import annotations

import importlib.util
import json
import socket
import sqlite3
import sys
import time

HEAVY = ("cv2", "torch", "scenedetect", "pandas", "great_expectations", "ultralytics", "transformers",
         "pyarrow", "onnxruntime", "rapidocr", "av", "kubernetes", "psycopg", "psycopg2", "minio", "httpx",
         "sqlalchemy", "alembic", "dlib", "numpy")

touched: list[str] = []


def _forbid(name: str):  # type: ignore[no-untyped-def]
    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        touched.append(name)
        raise RuntimeError(f"{name} called while parsing a DAG file")
    return refuse


def _type_name(task: object) -> str:
    cls = getattr(task, "operator_class", None)  # a mapped task: the class it maps
    return cls.__name__ if isinstance(cls, type) else type(task).__name__


def main(path: str) -> None:
    import airflow.sdk  # noqa: F401 - Airflow itself is loaded before parsing, as in the DAG processor
    from airflow.sdk import DAG

    already = {m for m in HEAVY if m in sys.modules}
    socket.socket.connect = _forbid("socket.connect")  # type: ignore[method-assign]
    socket.socket.connect_ex = _forbid("socket.connect_ex")  # type: ignore[method-assign]
    socket.create_connection = _forbid("socket.create_connection")
    sqlite3.connect = _forbid("sqlite3.connect")
    t0 = time.perf_counter()
    spec = importlib.util.spec_from_file_location("dag_under_test", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seconds = time.perf_counter() - t0
    dags = [v for v in vars(module).values() if isinstance(v, DAG)]
    cycles = []
    for d in dags:
        try:
            d.check_cycle()
        except Exception as exc:  # noqa: BLE001
            cycles.append(f"{d.dag_id}: {exc}")
    print(json.dumps({
        "seconds": seconds,
        "dags": {d.dag_id: sorted(d.task_ids) for d in dags},
        "heavy": sorted(m for m in HEAVY if m in sys.modules and m not in already),
        "heavy_before": sorted(already),
        "touched": touched,
        "cycles": cycles,
        "doc_md": {d.dag_id: bool(d.doc_md) for d in dags},
        "params": {d.dag_id: {k: (p.description or "") for k, p in d.params.items()} for d in dags},
        "retries": {d.dag_id: [d.default_args.get("retries"), d.default_args.get("retry_exponential_backoff")] for d in dags},
        "task_types": {d.dag_id: sorted({_type_name(t) for t in d.tasks}) for d in dags},
        "upstream": {d.dag_id: {t.task_id: sorted(t.upstream_task_ids) for t in d.tasks} for d in dags},
        "claim": next(({"mode": t.mode, "retries": t.retries, "queue": t.queue, "timeout": t.timeout,
                        "max_active_runs": d.max_active_runs}
                       for d in dags for t in d.tasks if t.task_id == "claim_drama"), None),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
