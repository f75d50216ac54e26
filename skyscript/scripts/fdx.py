"""A shooting script as Final Draft XML (``.fdx``).

Paragraphs: ``Scene Heading`` (with ``Number``, the scene number), ``Action`` (description,
focus, action) and ``Shot`` (``SHOT n: WIDE SHOT``). The metadata Fountain keeps in notes goes into
``ScriptNote`` elements under ``ScriptNotes``, each anchored (``Range``: character offset and
length in the script's text) on the ``Shot`` paragraph it describes. Written with the standard
library's ElementTree, so the output is well-formed XML by construction.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from skyscript.schemas.script import ShootingScript
from skyscript.scripts.fountain import _fv, heading, shot_lines


def render(script: ShootingScript) -> bytes:
    root = ET.Element("FinalDraft", DocumentType="Script", Template="No", Version="5")
    content = ET.SubElement(root, "Content")
    notes_el = ET.Element("ScriptNotes")
    offset = 0
    note_id = 0

    def para(kind: str, text: str, **attrs: str) -> int:
        nonlocal offset
        p = ET.SubElement(content, "Paragraph", Type=kind, **attrs)
        ET.SubElement(p, "Text").text = text
        start = offset
        offset += len(text) + 1
        return start

    def note(start: int, length: int, text: str) -> None:
        nonlocal note_id
        note_id += 1
        n = ET.SubElement(notes_el, "ScriptNote", ID=str(note_id), Range=f"{start},{length}", Name="SkyScript")
        p = ET.SubElement(n, "Paragraph")
        ET.SubElement(p, "Text").text = text

    sc = script.scene
    head = heading(script).rsplit(" #", 1)[0]
    start = para("Scene Heading", head, Number=str(sc.number))
    for name in ("int_ext", "location", "time_of_day"):
        f = getattr(sc, name)
        note(start, len(head), f"{name}: " + (f"{f.value} (source {f.source}{', ' + f.by if f.by else ''})" if f.ok
                                             else f"missing ({f.missing})"))
    para("Action", f"DESCRIPTION: {sc.description.value}" if sc.description.ok else _fv("DESCRIPTION", sc.description))
    for s in script.shots:
        shot_text = f"SHOT {s.number}: {s.shot_size.value if s.shot_size.ok else 'SHOT SIZE UNKNOWN'}"
        start = para("Shot", shot_text)
        para("Action", f"FOCUS: {s.focus.value if s.focus.ok else 'unknown'}")
        para("Action", f"ACTION: {s.action.value if s.action.ok else 'unknown'}")
        for line in shot_lines(s):
            if line.startswith("[[") and line.endswith("]]"):
                note(start, len(shot_text), line[2:-2])
    root.append(notes_el)
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n' + ET.tostring(root, encoding="utf-8")
