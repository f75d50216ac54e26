"""From a VLM's raw text to validated frames: parse, repair, correct, or give up with a reason.

The ladder (paper section 3.2: about 4% of answers were unreadable and went to a correction prompt):

1. **parsed**: the text (less surrounding whitespace and one markdown code fence) is strict JSON
   and fits the schema.
2. **repaired**: strict parsing failed, and the ``json-repair`` package's deterministic repair
   (quotes, commas, unclosed brackets of a truncated answer, prose around the JSON) gives JSON that
   fits the schema.
3. **corrected**: neither worked (not JSON at all, or JSON that breaks the schema: wrong fields,
   out-of-range values), and the correction model, given the raw text, the problem and the expected
   structure, returned JSON that fits.
4. **lost**: nothing worked; the caller records a loss row (``unparseable_json`` when no JSON could
   be read, ``schema_violation`` when JSON was read but never fitted) with the raw answer's key.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable

import json_repair
from pydantic import ValidationError

from skyscript.keyinfo.schema import VlmFrame, parse_vlm_answer

_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


class Outcome(str, Enum):
    parsed = "parsed"
    repaired = "repaired"
    corrected = "corrected"
    lost = "lost"


# corrector(raw_text, problem, n_images) -> corrected text; raises on failure
Corrector = Callable[[str, str, int], str]


@dataclass
class Interpretation:
    outcome: Outcome
    frames: list[VlmFrame] | None = None
    reason: str | None = None  # for lost
    detail: str | None = None
    corrected_text: str | None = None


class _NotJson(ValueError):
    pass


def strict_load(text: str) -> Any:
    """``json.loads`` after trimming whitespace and one enclosing markdown code fence."""
    body = text.strip()
    m = _FENCE.match(body)
    if m:
        body = m.group(1).strip()
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise _NotJson(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc


def _answer_shaped(obj: Any) -> bool:
    """The top level an answer can have: an object, or a non-empty list of objects (frames or the
    flat list of items), or a list holding one such list."""
    if isinstance(obj, dict):
        return bool(obj)
    if isinstance(obj, list) and obj:
        return all(isinstance(x, dict) for x in obj) or (
            len(obj) == 1 and isinstance(obj[0], list) and bool(obj[0]) and all(isinstance(x, dict) for x in obj[0]))
    return False


def repair_load(text: str) -> Any:
    """The ``json-repair`` reading of ``text``; raises when it yields nothing shaped like an answer.

    json-repair reads *something* out of almost any text: garbage holding a ``[`` becomes a list of
    one string. Only an object or a list of objects counts as JSON that was read; anything else
    is ``unparseable_json``, not ``schema_violation``.
    """
    try:
        obj = json_repair.loads(text)
    except Exception as exc:  # noqa: BLE001 - the repair library may raise anything on odd input
        raise _NotJson(f"json-repair failed: {type(exc).__name__}: {exc}") from exc
    if not _answer_shaped(obj):
        got = type(obj).__name__ if not isinstance(obj, list) else \
            f"a list of {', '.join(sorted({type(x).__name__ for x in obj})) or 'nothing'}"
        raise _NotJson(f"no JSON object found in the answer (json-repair read {got})")
    return obj


def _validation_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:6]:
            loc = ".".join(str(x) for x in err.get("loc", ()))
            parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
        more = f" (+{exc.error_count() - 6} more)" if exc.error_count() > 6 else ""
        return "does not fit the schema: " + "; ".join(parts) + more
    return f"does not fit the schema: {exc}"


def _read(text: str, n_images: int, allow_repair: bool) -> tuple[list[VlmFrame] | None, bool, str, bool]:
    """(frames or None, repaired?, problem, json_was_read)."""
    try:
        obj = strict_load(text)
        repaired = False
    except _NotJson as strict_exc:
        if not allow_repair:
            return None, False, str(strict_exc), False
        try:
            obj = repair_load(text)
            repaired = True
        except _NotJson as exc:
            return None, False, f"{strict_exc}; {exc}", False
    try:
        return parse_vlm_answer(obj, n_images), repaired, "", True
    except (ValidationError, ValueError) as exc:
        return None, repaired, _validation_problem(exc), True


def interpret(text: str, n_images: int, corrector: Corrector | None = None) -> Interpretation:
    frames, repaired, problem, json_read = _read(text, n_images, allow_repair=True)
    if frames is not None:
        return Interpretation(Outcome.repaired if repaired else Outcome.parsed, frames)
    reason = "schema_violation" if json_read else "unparseable_json"
    if corrector is None:
        return Interpretation(Outcome.lost, reason=reason, detail=f"{problem}; no correction model configured")
    try:
        fixed = corrector(text, problem, n_images)
    except Exception as exc:  # noqa: BLE001 - a failed correction call is a loss, not a crash
        return Interpretation(Outcome.lost, reason=reason, detail=f"{problem}; correction failed: {exc}")
    frames2, _, problem2, _ = _read(fixed, n_images, allow_repair=True)
    if frames2 is not None:
        return Interpretation(Outcome.corrected, frames2, corrected_text=fixed)
    return Interpretation(
        Outcome.lost, reason=reason, detail=f"{problem}; the correction still {problem2}", corrected_text=fixed
    )
