"""The character library's logic (paper 5.3): face descriptors grouped into characters that keep
their ids across shots, episodes and re-runs, with human corrections as constraints.

* Clustering: average-linkage agglomerative clustering (SciPy) cut at a descriptor distance;
  deterministic, so a re-run on the same faces gives the same groups.
* Ids: a group takes the id most of its members had in the previous run (the step's current
  annotations), so adding an episode does not renumber anyone; a group with no previous id gets
  a new one from the caller (derived from the drama and its first appearance).
* Human corrections: a face an annotator assigned (a human ``characters`` version) goes to that
  id whatever the clustering says (a split, or a merge when the id is another character's); the
  unreviewed members of its cluster keep their previous id, and new faces in the cluster (no
  previous id) follow the annotator's majority.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Hashable, Sequence

import numpy as np

FaceKey = tuple[str, int]  # (keyframe id, person index)


@dataclass
class FaceObs:
    key: FaceKey
    embedding: np.ndarray
    order: tuple[str, float, int]  # (episode id, timestamp, person index): first appearance ordering
    previous_id: str | None = None  # what the last run assigned
    human_id: str | None = None  # what an annotator assigned


def cluster(embeddings: Sequence[np.ndarray], threshold: float) -> list[int]:
    """Group labels (0..k-1, in order of first member) for the descriptors."""
    n = len(embeddings)
    if n == 0:
        return []
    if n == 1:
        return [0]
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    x = np.vstack([np.asarray(e, dtype=np.float64) for e in embeddings])
    z = linkage(pdist(x, "euclidean"), method="average")
    raw = fcluster(z, t=threshold, criterion="distance")
    relabel: dict[int, int] = {}
    return [relabel.setdefault(int(r), len(relabel)) for r in raw]


def _majority(values: Sequence[Hashable]) -> Hashable | None:
    if not values:
        return None
    counts = Counter(values)
    best = max(counts.values())
    return next(v for v in values if counts[v] == best)  # ties: the earliest member's


def assign(
    faces: Sequence[FaceObs], threshold: float, new_id: Callable[[FaceObs], str]
) -> dict[FaceKey, tuple[str, str]]:
    """``key -> (character id, evidence)`` for every face; evidence is ``human`` or ``face``."""
    faces = sorted(faces, key=lambda f: f.order)
    labels = cluster([f.embedding for f in faces], threshold)
    groups: dict[int, list[FaceObs]] = {}
    for f, lab in zip(faces, labels):
        groups.setdefault(lab, []).append(f)
    out: dict[FaceKey, tuple[str, str]] = {}
    taken: set[str] = set()
    # groups with more members claim previous ids first; ties by first appearance
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0].order))
    resolved: list[tuple[list[FaceObs], str]] = []
    for members in ordered:
        human = [f.human_id for f in members if f.human_id]
        prev = [f.previous_id for f in members if not f.human_id and f.previous_id and f.previous_id not in taken]
        if prev:  # the unreviewed members keep the id they had
            cid = str(_majority(prev))
        elif human:  # new faces follow what the annotator said of their look-alikes
            cid = str(_majority(human))
        else:
            cid = ""
        if cid:
            taken.add(cid)
        resolved.append((members, cid))
    for members, cid in sorted(resolved, key=lambda r: r[0][0].order):
        if not cid:
            cid = new_id(members[0])
            taken.add(cid)
        for f in members:
            out[f.key] = (f.human_id, "human") if f.human_id else (cid, "face")
    return out
