"""Export of shooting scripts and script pairs.

* ``shooting_scripts.jsonl``: one Table 1 script per line (the canonical JSON, see
  ``shooting_script.schema.json``), in episode and scene order;
* ``scripts/<script_id>.fountain`` and ``scripts/<script_id>.fdx`` for screenwriting tools;
* ``pairs.jsonl``: one (script, shooting script) pair per line: ``pair_id``, ``script_id``,
  ``restoration_index``, ``script`` (the restored screenplay), ``model``, ``prompt_digest``, ``seed``,
  ``temperature``. Pair texts come from the shards the ``script_pairs`` step keeps in the store
  (``pairs/<drama>/<script_id>.jsonl``), never from database rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from skyscript.context import StepContext
from skyscript.store import Area, ObjectNotFound

PAIR_FIELDS = ("pair_id", "script_id", "restoration_index", "script", "model", "prompt_digest", "seed", "temperature")


def script_index(ctx: StepContext) -> list[dict[str, Any]]:
    """The drama's current shooting scripts (``scripts/<drama>/index.json``), [] before the step ran."""
    from skyscript.steps.shooting_scripts import index_key

    try:
        return list(json.loads(ctx.store.get_bytes(Area.public, index_key(ctx.drama_id)))["scripts"])
    except ObjectNotFound:
        return []


def iter_scripts(ctx: StepContext) -> Iterator[dict[str, Any]]:
    from skyscript.steps.shooting_scripts import script_keys

    for entry in script_index(ctx):
        yield json.loads(ctx.store.get_bytes(Area.public, script_keys(ctx.drama_id, entry["script_id"])["json"]))


def write_scripts(ctx: StepContext, out: Path) -> dict[str, int]:
    from skyscript.steps.shooting_scripts import schema_key, script_keys

    index = script_index(ctx)
    folder = out / "scripts"
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(out / "shooting_scripts.jsonl", "w", encoding="utf-8") as fh:
        for entry in index:
            keys = script_keys(ctx.drama_id, entry["script_id"])
            data = json.loads(ctx.store.get_bytes(Area.public, keys["json"]))
            fh.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
            for ext in ("fountain", "fdx"):
                (folder / f"{entry['script_id']}.{ext}").write_bytes(ctx.store.get_bytes(Area.public, keys[ext]))
            n += 1
    if index:
        (out / "shooting_script.schema.json").write_bytes(ctx.store.get_bytes(Area.public, schema_key(ctx.drama_id)))
    return {"shooting_scripts.jsonl": n, "scripts/": 2 * n}


def iter_pairs(ctx: StepContext) -> Iterator[dict[str, Any]]:
    """The accepted pairs of the drama's current scripts, from the store's shards."""
    from skyscript.steps.script_pairs import shard_key

    for entry in script_index(ctx):
        try:
            body = ctx.store.get_bytes(Area.public, shard_key(ctx.drama_id, entry["script_id"]))
        except ObjectNotFound:
            continue
        for line in body.decode("utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                yield {k: rec.get(k) for k in PAIR_FIELDS}


def write_pairs(ctx: StepContext, out: Path) -> dict[str, int]:
    n = 0
    with open(out / "pairs.jsonl", "w", encoding="utf-8") as fh:
        for rec in iter_pairs(ctx):
            fh.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
            n += 1
    return {"pairs.jsonl": n}


def write_relationships(ctx: StepContext, out: Path) -> dict[str, int]:
    """``relationships.json`` (the graph: edges over time, shipping scores) and its plot."""
    from skyscript.steps.relationships import graph_key, plot_key

    written = {}
    for key, name in ((graph_key(ctx.drama_id), "relationships.json"), (plot_key(ctx.drama_id), "plots/relationships.png")):
        try:
            data = ctx.store.get_bytes(Area.public, key)
        except ObjectNotFound:
            continue
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
        written[name] = len(json.loads(data)["edges"]) if name.endswith(".json") else 1
    return written


def write_scripts_and_pairs(ctx: StepContext, out: Path) -> dict[str, int]:
    """Scripts, pairs and the relationship graph (the export's one call for this module)."""
    return {**write_scripts(ctx, out), **write_pairs(ctx, out), **write_relationships(ctx, out)}
