"""Resume, not redo: the digest of what an episode step reads, so a re-run skips a step whose
inputs, version and effective parameters are unchanged since its last success.

The digest covers the step's name and version, its effective parameters, and the loaded view: the
episode row (content digest, status, probe fields), its shots and keyframes (ids, frames' digests,
validity, the columns other steps set) and the current version of every annotation kind the step
reads or owns (version, author, payload). Anything a step reads arrives through the view, so an
unchanged digest means an unchanged result. Drama steps and ingest always run (their inputs are
the whole drama, or files outside the pipeline); ``--force`` redoes everything.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from skyscript.steps.view import EpisodeView


# settings that say where things are, not what a step computes
_WHERE = {"home", "database_url", "store_url", "store_access_key", "store_secret_key", "store_region",
          "private_bucket", "public_bucket", "presign_expiry_s", "log_level", "mode", "step_lease_s",
          "run_lease_s", "run_wait_s", "calibration"}


def later_writes(step: Any, pipeline: Any) -> set[str]:
    """Columns (``table.column``) written by this step or by any step that does not run before it:
    outputs, never inputs of this step (text must not see privacy's ``public_key`` change)."""
    classes = list(pipeline.classes)
    names = [c.name for c in classes]
    start = names.index(step.name) if step.name in names else len(classes)
    out: set[str] = set()
    for c in [type(step), *classes[start:]]:
        out |= {w for w in c.writes if "." in w}
        out |= {w for w in c.writes if w in ("shot", "keyframe")}  # whole tables (scan's)
        out |= {f"keyframe.{col}" for k in c.owns for col in k.column_names}
    return out


def input_digest(step: Any, params: dict[str, Any], view: EpisodeView, settings: Any = None,
                 exclude: set[str] | None = None) -> str:
    """The digest of what ``step`` reads on this unit: never what it writes itself (its own columns,
    rows and annotations from the last run), except an annotator's correction of its kinds, which
    it does read. ``settings``: every setting that can change what a step computes is in the digest
    (a step's set-up reads sections besides its own parameters, e.g. privacy's face detector), so
    changing any of them redoes the steps; where things are stored is left out."""
    h = hashlib.sha256()

    def add(obj: Any) -> None:
        h.update(json.dumps(obj, sort_keys=True, default=str).encode("utf-8"))
        h.update(b"\x1e")

    writes = set(step.writes)
    skip = (exclude or set()) | {w for w in writes if "." in w} | {f"keyframe.{c}" for k in step.owns for c in k.column_names}
    own_kinds = {k.name for k in step.owns}

    def row(obj: Any, table: str) -> dict[str, Any]:
        return {k: v for k, v in asdict(obj).items() if f"{table}.{k}" not in skip}

    add([step.name, step.version, params])
    if settings is not None:
        uses = getattr(step, "uses_settings", None)
        dumped = settings.model_dump(mode="json", exclude=_WHERE)
        add({k: v for k, v in dumped.items() if uses is None or k in uses})
    add({k: v for k, v in row(view.episode, "episode").items() if k not in ("status", "error")})
    if "shot" not in writes and "shot" not in skip:
        for shot in view.shots:
            add(row(shot, "shot"))
    if "keyframe" not in writes and "keyframe" not in skip:
        for kf in view.keyframes:
            add(row(kf, "keyframe"))
    for (kf_id, kind), cur in sorted(view.annotations.items()):
        if kind in own_kinds and not cur.human:
            continue  # its own last answer is an output, not an input
        add([kf_id, kind, cur.version, cur.author, cur.payload.model_dump(mode="json")])
    return "sha256:" + h.hexdigest()
