"""What each step reads and writes, as OpenLineage dataset names, so an OpenLineage backend
(Marquez or any other) shows drama-level lineage of the step tasks. Airflow-free: the step
operators wrap these names in OpenLineage ``Dataset`` objects.

Names are ``<drama>/<item>`` in the ``skyscript`` namespace, where an item is an annotation kind
(``keyinfo``), a lineage table (``keyframe``), or a store area (``public:frames``). The registry's
``reads``/``writes`` are used where the step declares them; the map below covers steps that do not.
"""

from __future__ import annotations

from skyscript.steps import registry

NAMESPACE = "skyscript"

DECLARED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ingest": (("source:files",), ("episode", "private:raw")),
    "probe": (("private:raw",), ("episode",)),
    "scan": (("private:raw", "episode"), ("shot", "keyframe", "private:frames")),
    "text": (("private:frames", "keyframe"), ("ocr",)),
    "privacy": (("private:frames", "ocr"), ("faces", "privacy", "public:frames")),
    "shot_size": (("faces", "keyframe"), ("shot_size",)),
    "keyinfo": (("public:frames", "faces", "shot_size"), ("keyinfo",)),
}


def step_items(step: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    spec = registry.get(step)
    reads, writes = tuple(getattr(spec, "reads", ()) or ()), tuple(getattr(spec, "writes", ()) or ())
    if reads or writes:
        return reads, writes
    return DECLARED.get(step, ((), ()))


def _datasets(items: tuple[str, ...]) -> list[str]:
    """Columns (``keyframe.public_key``) collapse to their table: a dataset is a table, a kind or
    a store area."""
    return list(dict.fromkeys(i if ":" in i else i.split(".", 1)[0] for i in items))


def step_datasets(step: str, drama: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(namespace, name) of the step's inputs and outputs for one drama."""
    reads, writes = step_items(step)
    return ([(NAMESPACE, f"{drama}/{r}") for r in _datasets(reads)],
            [(NAMESPACE, f"{drama}/{w}") for w in _datasets(writes)])
