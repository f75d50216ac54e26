"""Valence, arousal and dominance of the seven basic emotions the face models speak, on the 1-9
Self-Assessment Manikin scale the key information uses.

Source: the NRC Valence, Arousal, and Dominance Lexicon v1.0 (Saif M. Mohammad, "Obtaining
Reliable Human Ratings of Valence, Arousal, and Dominance for 20,000 English Words", ACL 2018),
whose scores are 0..1; the words looked up are anger, disgust, fear, happy, sadness, surprise and
neutral. A score s maps to 1 + 8 s. (The lexicon's terms allow free non-commercial research use;
only these seven published values are used here.)
"""

from __future__ import annotations

# basic emotion -> the lexicon word and its (valence, arousal, dominance) on 0..1
NRC_VAD: dict[str, tuple[str, tuple[float, float, float]]] = {
    "angry": ("anger", (0.167, 0.865, 0.657)),
    "disgust": ("disgust", (0.052, 0.775, 0.317)),
    "fear": ("fear", (0.073, 0.840, 0.293)),
    "happy": ("happy", (1.000, 0.735, 0.772)),
    "sad": ("sadness", (0.052, 0.288, 0.164)),
    "surprise": ("surprise", (0.875, 0.875, 0.562)),
    "neutral": ("neutral", (0.469, 0.184, 0.357)),
}


def to_sam(score: float) -> float:
    """A 0..1 lexicon score on the 1..9 scale."""
    return 1.0 + 8.0 * min(1.0, max(0.0, score))


def vad_of(basic: str) -> tuple[float, float, float]:
    """(valence, arousal, dominance) on 1..9 for a basic emotion; KeyError for an unknown one."""
    _, (v, a, d) = NRC_VAD[basic]
    return (to_sam(v), to_sam(a), to_sam(d))


def clamp_int(x: float) -> int:
    return int(min(9, max(1, int(x + 0.5))))
