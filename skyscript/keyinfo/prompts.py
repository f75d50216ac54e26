"""Our prompts for key-information extraction and for JSON correction.

They ask for the fields of the paper's Tables 4 and 5 (objects: type, description, shot type;
people: age, gender, looks, emotion, continuous emotion V/A/D, temperament, facial attractiveness,
shot type) with the scales of :mod:`skyscript.keyinfo.schema` spelled out, and an answer shape we
can validate. The wording is ours. Their digest goes into lineage (``StepRun.prompt_digest``), so a
prompt change shows up on every record it produced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from skyscript.ids import text_digest

PROMPT_VERSION = "keyinfo-v1"

EXTRACT_SYSTEM = (
    "You annotate keyframes from short TV dramas for a film-production dataset. You look at each "
    "image carefully and report, as strict JSON, every visible person and the notable physical "
    "objects, without inventing anything that is not in the picture."
)

_FRAME_SHAPE = {
    "objects": [
        {
            "type": "one or two lower-case words naming the object class, e.g. \"cup\"",
            "description": "one sentence: material, colour, state, where it is",
            "shot_type": "wide | full | medium | close_up | extreme_close_up",
            "box": "[x1, y1, x2, y2] rough position on a 0-1000 grid, or null",
        }
    ],
    "people": [
        {
            "age": "child | teenager | adult | elderly",
            "gender": "male | female",
            "looks": "clothing, hair, posture, what the person is doing",
            "emotion": "one word, e.g. happy, sad, angry, afraid, surprised, disgusted, neutral, serious",
            "continuous_emotion": {"valence": "1-9", "arousal": "1-9", "dominance": "1-9"},
            "temperament": "one or two words, e.g. gentle, confident, arrogant",
            "facial_attractiveness": "1-5",
            "shot_type": "wide | full | medium | close_up | extreme_close_up",
            "box": "[x1, y1, x2, y2] rough position of the whole person on a 0-1000 grid, or null",
        }
    ],
}

_RULES = """Rules:
- List every person you can see, including people who are partly hidden or at the edge of the frame; list each person and each object once only.
- Objects are physical things (furniture, props, vehicles, food, animals). Do not list subtitles, captions, logos, watermarks or any other text, and do not list people under "objects".
- shot_type describes how that subject is framed: wide = the subject is small in a large scene; full = a whole body from head to feet; medium = from the waist up; close_up = a face, or one object filling much of the frame; extreme_close_up = a detail such as eyes, a hand or a small object.
- continuous_emotion rates the person's current state on the 9-point Self-Assessment Manikin scale, integers 1 to 9: valence 1 = very unpleasant, 5 = neutral, 9 = very pleasant; arousal 1 = calm, 9 = highly agitated; dominance 1 = submissive, 9 = fully in control.
- facial_attractiveness is an integer from 1 (plain) to 5 (striking); 3 is average. Judge emotion, continuous_emotion, temperament and facial_attractiveness for each person separately.
- Use null for a value you cannot judge. Numbers are JSON numbers. Answer with the JSON only: no prose, no markdown fences."""


def extract_user_prompt(n_images: int) -> str:
    frame = json.dumps(_FRAME_SHAPE, indent=1, ensure_ascii=False)
    if n_images == 1:
        shape = f"Answer with one JSON object of this shape:\n{frame}"
        lead = "Here is one keyframe."
    else:
        shape = (
            f"Answer with one JSON object {{\"frames\": [...]}} holding exactly {n_images} entries, in the order "
            f"of the images; each entry has \"image\" (its number, 1 to {n_images}) and this shape:\n{frame}"
        )
        lead = f"Here are {n_images} keyframes from the same shot, numbered 1 to {n_images} in the order given."
    return f"{lead} For each image, find the people and the objects in it.\n\n{shape}\n\n{_RULES}"


CORRECTION_SYSTEM = (
    "You fix machine-generated JSON. You return the same content as valid JSON that matches the "
    "requested structure: you repair syntax, quoting, brackets and value types, rename keys to the "
    "expected ones, and set values that break the stated ranges to null. You never add facts that are "
    "not in the input."
)


def correction_user_prompt(raw_answer: str, problem: str, n_images: int) -> str:
    return (
        "The text between the markers was meant to be the JSON answer described below, but it could not be "
        f"used: {problem}\n\n"
        f"Expected structure (for {n_images} image{'s' if n_images != 1 else ''}):\n"
        f"{extract_user_prompt(n_images).split(chr(10) + chr(10), 1)[1]}\n\n"
        "<<<ANSWER\n"
        f"{raw_answer}\n"
        "ANSWER>>>\n\n"
        "Return only the corrected JSON."
    )


@dataclass(frozen=True)
class PromptSet:
    version: str
    digest: str


def prompt_set() -> PromptSet:
    """The version and digest of every prompt text this module can produce."""
    text = "\n".join(
        [PROMPT_VERSION, EXTRACT_SYSTEM, extract_user_prompt(1), extract_user_prompt(2),
         CORRECTION_SYSTEM, correction_user_prompt("{answer}", "{problem}", 1)]
    )
    return PromptSet(PROMPT_VERSION, text_digest(text))
