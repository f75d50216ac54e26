"""Character assignment on synthetic descriptors: clustering is deterministic, previous ids are
kept when new faces arrive, an annotator's split and merge are respected."""

from __future__ import annotations

import numpy as np

from skyscript.scene.characters import FaceObs, assign, cluster


def _faces(centres: list[np.ndarray], per: int, seed: int = 0) -> list[FaceObs]:
    rng = np.random.default_rng(seed)
    out = []
    for c, centre in enumerate(centres):
        for j in range(per):
            out.append(FaceObs((f"kf{c}{j}", 0), centre + rng.normal(0, 0.01, 128), ("ep", c * 10 + j, 0)))
    return out


def _centres(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(42)
    return [rng.normal(0, 0.06, 128) for _ in range(n)]  # people about 0.85 apart, like dlib's


def test_cluster_groups_people_and_is_deterministic() -> None:
    faces = _faces(_centres(3), 4)
    labels = cluster([f.embedding for f in faces], 0.5)
    assert labels == [0] * 4 + [1] * 4 + [2] * 4
    assert cluster([f.embedding for f in faces], 0.5) == labels
    assert cluster([], 0.5) == [] and cluster([faces[0].embedding], 0.5) == [0]


def test_ids_come_from_the_first_appearance_and_survive_new_faces() -> None:
    centres = _centres(2)
    faces = _faces(centres, 3)
    first = assign(faces, 0.5, lambda f: f"char-{f.key[0]}")
    assert {v for k, v in first.items() if k[0].startswith("kf0")} == {("char-kf00", "face")}
    assert {v for k, v in first.items() if k[0].startswith("kf1")} == {("char-kf10", "face")}
    # a new episode shows person 1 earlier than anyone: ids stay what they were
    again = [FaceObs(f.key, f.embedding, f.order, previous_id=first[f.key][0]) for f in faces]
    again.append(FaceObs(("new", 0), centres[1] + 0.005, ("ea", 0.0, 0)))
    second = assign(again, 0.5, lambda f: f"char-{f.key[0]}")
    assert second[("new", 0)] == ("char-kf10", "face")
    assert all(second[k] == first[k] for k in first)


def test_human_split_and_merge() -> None:
    faces = _faces(_centres(2), 3)
    first = assign(faces, 0.5, lambda f: f"char-{f.key[0]}")
    prev = [FaceObs(f.key, f.embedding, f.order, previous_id=first[f.key][0]) for f in faces]
    prev[2].human_id = "char-split"  # an annotator splits one face of person 0 off
    prev[3].human_id = "char-kf00"  # and merges one face of person 1 into person 0
    out = assign(prev, 0.5, lambda f: f"char-{f.key[0]}")
    assert out[prev[2].key] == ("char-split", "human") and out[prev[3].key] == ("char-kf00", "human")
    assert out[prev[0].key] == ("char-kf00", "face") and out[prev[4].key] == ("char-kf10", "face")
