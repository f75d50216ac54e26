"""Script restoration: from one refined shooting script, a plain screenplay scene an LLM writes
without camera directions. The prompt, the per-restoration variation, and the checks each
restoration must pass.

Variation: restoration ``i`` of a script gets ``seed = restoration_seed(script_id, base_seed, i)``
and ``temperature = temperatures[i % len(temperatures)]``. The seed picks a writing direction
(:data:`DIRECTIONS`) and is sent in the prompt as the variation key (OpenAI-compatible servers that
take a ``seed`` field get it there too when the client passes one), so a re-run asks exactly the
same question. Both values are recorded with the pair.

Checks (a failed one is a loss row ``restoration_rejected`` with the check's name):

* ``characters``: every character named in the shooting script appears in the text;
* ``scene_order``: exactly one scene heading, first in the text, with the shooting script's
  INT./EXT. and place where those are known (a restoration must not invent or reorder scenes);
* ``camera_jargon``: no camera direction (shot sizes, pans, zooms, angles, CAMERA, POV, ...);
* ``length``: between ``min_chars`` and ``max_chars`` characters.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from skyscript.ids import text_digest

SYSTEM = (
    "You are a screenwriter for short dramas. You are given a production breakdown of one scene: "
    "where and when it happens, who is on screen, how they look, what they feel and do, shot by "
    "shot. Write the scene as a plain screenplay a writer would hand in before any shooting plan "
    "exists: one scene heading, action lines and dialogue. Never mention the camera, shots, "
    "lenses, angles, framing or editing. Keep every character's name exactly as given."
)

USER_TEMPLATE = """Production breakdown:
{breakdown}

Characters (use every one of these names, spelled exactly so): {characters}
Scene heading to use: {heading}
Writing direction for this version: {direction}
Variation key: {seed}

Write the screenplay scene now. Plain text, no markdown, no notes."""

DIRECTIONS = (
    "let the dialogue carry the scene; keep action lines short",
    "favour action lines and silences; dialogue only where it must be spoken",
    "write it from the emotional point of view of the first character listed",
    "make the conflict between the characters explicit",
    "keep it understated and subtle, with subtext under plain words",
    "give the scene a small turn at the end that changes what it means",
    "write it brisk and tense, with short lines",
    "let the place and its details shape what the characters do",
)

PROMPT_DIGEST = text_digest(SYSTEM + "\n" + USER_TEMPLATE + "\n" + "\n".join(DIRECTIONS))

CAMERA_JARGON = re.compile(
    r"\b(camera|close[- ]?ups?|extreme close|wide shot|medium shot|full shot|long shot|two[- ]shot|"
    r"establishing shot|tracking shot|insert shot|reverse shot|over[- ]the[- ]shoulder|"
    r"pans?|panning|zooms?|zooming|tilts?|tilting|dolly|crane shot|steadicam|handheld|"
    r"high angle|low angle|eye level|angle on|pov|rack focus|shot size|shot \d+)\b",
    re.IGNORECASE,
)
HEADING = re.compile(r"^\s*(?:\.|(?:INT\.?/EXT|INT|EXT|EST|I/E)[.\s])\s*(.*)$", re.IGNORECASE)


def restoration_seed(script_id: str, base_seed: int, index: int) -> int:
    """A stable 31-bit seed per (script, base seed, restoration index)."""
    h = hashlib.sha256(f"{script_id}|{base_seed}|{index}".encode()).digest()
    return int.from_bytes(h[:4], "big") & 0x7FFFFFFF


def direction_of(seed: int) -> str:
    return random.Random(seed).choice(DIRECTIONS)


def _v(field: Mapping[str, Any] | None) -> Any:
    return field.get("value") if isinstance(field, Mapping) else None


def heading_of(script: Mapping[str, Any]) -> str:
    sc = script["scene"]
    ie = _v(sc["int_ext"])
    place = _v(sc["location"])
    time = _v(sc["time_of_day"])
    return f"{ie + '.' if ie else 'INT./EXT.'} {place or 'A PLACE YOU CHOOSE'}{' - ' + time if time else ''}"


def breakdown(script: Mapping[str, Any]) -> str:
    """The shooting script as the LLM reads it: facts, not formatting (missing fields left out)."""
    sc = script["scene"]
    lines = [f"Scene {sc['number']}: {heading_of(script)}"]
    if _v(sc["description"]):
        lines.append(f"Setting: {_v(sc['description'])}")
    for shot in script["shots"]:
        lines.append(f"Beat {shot['number']} ({_v(shot['camera_detail']['time_s']) or '?'} s):")
        for label, key in (("Event", "event"), ("Action", "action"), ("Focus", "focus")):
            if _v(shot[key]):
                lines.append(f"  {label}: {_v(shot[key])}")
        for c in shot.get("characters", []):
            bits = [f"{k} {_v(c[k])}" for k in ("age", "gender", "looks", "emotion", "temperament", "pose") if _v(c[k])]
            vad = [f"{k[0].upper()}={_v(c[k])}" for k in ("valence", "arousal", "dominance") if _v(c[k]) is not None]
            if vad:
                bits.append("V/A/D " + " ".join(vad) + " (1-9)")
            lines.append(f"  {c['name']}: " + ("; ".join(bits) if bits else "no details"))
        objs = [o["type"] + (f" ({_v(o['description'])})" if _v(o["description"]) else "") for o in shot.get("key_objects", [])]
        if objs:
            lines.append("  Objects: " + ", ".join(objs))
    return "\n".join(lines)


@dataclass(frozen=True)
class RestorationRequest:
    script_id: str
    index: int
    seed: int
    temperature: float
    direction: str
    system: str
    user: str


def request_for(script: Mapping[str, Any], index: int, base_seed: int, temperatures: Sequence[float]) -> RestorationRequest:
    sid = script["script_id"]
    seed = restoration_seed(sid, base_seed, index)
    direction = direction_of(seed)
    names = list(script.get("characters") or [])
    user = USER_TEMPLATE.format(
        breakdown=breakdown(script), characters=", ".join(names) if names else "(no one is named: invent no names)",
        heading=heading_of(script), direction=direction, seed=seed,
    )
    return RestorationRequest(sid, index, seed, float(temperatures[index % len(temperatures)]), direction, SYSTEM, user)


def check(text: str, script: Mapping[str, Any], *, min_chars: int, max_chars: int) -> list[str]:
    """The checks the restoration fails, as ``name: detail`` (empty: accepted)."""
    problems: list[str] = []
    body = text.strip()
    if not (min_chars <= len(body) <= max_chars):
        problems.append(f"length: {len(body)} characters, allowed {min_chars}..{max_chars}")
    upper = body.upper()
    missing = [n for n in script.get("characters") or [] if n.upper() not in upper]
    if missing:
        problems.append(f"characters: {', '.join(missing)} not named")
    lines = [ln for ln in body.splitlines() if ln.strip()]
    heads = [i for i, ln in enumerate(lines) if HEADING.match(ln) and ln.strip().upper() == ln.strip()]
    sc = script["scene"]
    if len(heads) != 1 or heads[0] != 0:
        problems.append(f"scene_order: {len(heads)} scene headings" + ("" if not heads else f", first on line {heads[0] + 1}")
                        + " (expected exactly one, first)")
    else:
        head = lines[0].upper()
        ie, place = _v(sc["int_ext"]), _v(sc["location"])
        if ie and not re.match(rf"^\s*\.?{ie}\b", head):
            problems.append(f"scene_order: heading {lines[0].strip()!r} is not {ie}.")
        elif place and str(place).upper() not in head:
            problems.append(f"scene_order: heading {lines[0].strip()!r} does not name {place}")
    jargon = sorted({m.group(0).lower() for m in CAMERA_JARGON.finditer(body)})
    if jargon:
        problems.append(f"camera_jargon: {', '.join(jargon[:5])}")
    return problems


def pair_id(script_id: str, index: int) -> str:
    """A pair's id: its shooting script and restoration index (a trace needs no pair table)."""
    return f"{script_id}--r{index:04d}"


def parse_pair_id(pid: str) -> tuple[str, int]:
    sid, sep, tail = pid.rpartition("--r")
    if not sep or not sid or not tail.isdigit():
        raise ValueError(f"{pid!r} is not a pair id (<shooting script id>--rNNNN)")
    return sid, int(tail)
