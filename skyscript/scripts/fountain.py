"""A shooting script as Fountain (https://fountain.io), for screenwriting tools (Highland, Fade In,
Final Draft and Beat import it).

* The scene heading carries the scene number as ``#n#``: ``EXT. PARK - DAY #1#``. An unknown
  INT./EXT. is written ``INT./EXT.``, an unknown place ``UNKNOWN LOCATION``, an unknown time is
  left out; a note under the heading says which parts are missing and why.
* ``SHOT n: WIDE SHOT`` is a forced action line (``!``), so no tool mistakes it for a character cue.
* FOCUS and ACTION are action paragraphs; camera position and movement, highlight score, 3D
  locations, camera details, event and the characters' details are notes (``[[...]]``, one per
  line), which screenwriting tools keep but do not print.
"""

from __future__ import annotations

from typing import Any

from skyscript.schemas.script import ShootingScript, ShotScript, Valued


def _v(field: Valued, missing: str = "unknown") -> str:
    return str(field.value) if field.ok else missing


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        if all(isinstance(x, (int, float)) for x in value):
            return "(" + ",".join(f"{x:g}" for x in value) + ")"
        return "(" + ", ".join(str(x) for x in value) + ")"
    return str(value)


def _note(text: str) -> str:
    # a note may not contain "]]" or blank lines
    return "[[" + " ".join(text.replace("]]", "] ]").split()) + "]]"


def _fv(label: str, field: Valued) -> str:
    return f"{label}: {_fmt(field.value)}" if field.ok else f"{label}: missing ({field.missing})"


def heading(script: ShootingScript) -> str:
    sc = script.scene
    ie = f"{sc.int_ext.value}." if sc.int_ext.ok else "INT./EXT."
    place = str(sc.location.value).upper() if sc.location.ok else "UNKNOWN LOCATION"
    time = f" - {sc.time_of_day.value}" if sc.time_of_day.ok else ""
    return f"{ie} {place}{time} #{sc.number}#"


def shot_lines(s: ShotScript) -> list[str]:
    lines = [f"!SHOT {s.number}: {_v(s.shot_size, 'SHOT SIZE UNKNOWN')}", ""]
    lines += [f"FOCUS: {_v(s.focus, 'unknown')}", "", f"ACTION: {_v(s.action, 'unknown')}", ""]
    notes = [
        _fv("CAMERA POSITION", s.camera_position),
        _fv("CAMERA MOVEMENT", s.camera_movement),
        _fv("Highlight Score", s.highlight_score),
    ]
    for c in s.characters:
        notes.append(_fv(f'3D Location of "{c.name}"', c.location_3d_cm))
    cd = s.camera_detail
    notes += [
        _fv("Camera Detail-Time (seconds)", cd.time_s), _fv("Camera Detail-Shot Size", cd.shot_size),
        _fv("Camera Detail-Camera Angle", cd.camera_angle), _fv("Camera Detail-Main Subject", cd.main_subject),
        _fv("Event Number", s.event_number), _fv("Event", s.event),
    ]
    for c in s.characters:
        parts = [_fv(k, getattr(c, k)) for k in ("age", "gender", "looks", "emotion", "valence", "arousal", "dominance",
                                                  "temperament", "attractiveness", "pose")]
        notes.append(f"Character {c.name}: " + "; ".join(parts))
    for o in s.key_objects:
        notes.append(f"Key object {o.type}: " + "; ".join(
            [_fv("description", o.description), _fv("shot size", o.shot_size), _fv("3D location", o.location_3d_cm)]))
    notes += s.notes
    for n in notes:
        lines += [_note(n), ""]
    return lines


def render(script: ShootingScript, title: str | None = None) -> str:
    """The script as Fountain text (title page, then the scene)."""
    sc = script.scene
    out = [f"Title: {title or script.script_id}", f"Credit: SkyScript refined shooting script {script.schema_version}",
           f"Draft date: scene {sc.number} of {script.episode_id}", ""]
    out += [heading(script), ""]
    gaps = [f"{k}: {getattr(sc, k).missing}" for k in ("int_ext", "location", "time_of_day") if not getattr(sc, k).ok]
    if gaps:
        out += [_note("Heading parts missing - " + "; ".join(gaps)), ""]
    out += [_fv("DESCRIPTION", sc.description) if not sc.description.ok else f"DESCRIPTION: {sc.description.value}", ""]
    for name in ("int_ext", "location", "time_of_day", "description"):
        f = getattr(sc, name)
        if f.ok:
            out += [_note(f"{name} source: {f.source}" + (f" ({f.by})" if f.by else "")), ""]
    for s in script.shots:
        out += shot_lines(s)
    return "\n".join(out).rstrip() + "\n"
