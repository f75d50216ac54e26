"""Export of published frames: a re-export after the frame was re-masked ships the new copy; a
re-export into a folder holding an earlier export (fewer keyframes, another drama, user files)
leaves exactly its own files there and removes nothing that is not an export's."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import skyscript.export as export_module
import skyscript.export.folder as folder_module
from skyscript import ids
from skyscript.context import StepContext, open_context
from skyscript.db import lineage
from skyscript.export import export_drama
from skyscript.store import Area


def test_reexport_replaces_a_frame_whose_published_copy_changed(ctx: StepContext, tmp_path: Path) -> None:
    ep = ids.episode_id(ctx.drama_id, "ep01.mp4")
    key = ids.Keys(ctx.drama_id).frame(ep, 0, 5)
    with ctx.db.session() as s:
        lineage.ensure_drama(s, ctx.drama_id)
        lineage.upsert_episode(s, id=ep, drama_id=ctx.drama_id, source_uri="ep01.mp4", source_name="ep01.mp4", status="ok")
        lineage.replace_shots(s, ep, [dict(id=ids.shot_id(ep, 0), episode_id=ep, shot_index=0, start_frame=0,
                                           end_frame=10, start_s=0.0, end_s=0.4)])
        first = ctx.store.put_bytes(Area.public, key, b"mask v1", "image/jpeg")
        lineage.replace_keyframes(s, ep, [dict(id=ids.keyframe_id(ep, 5), episode_id=ep, shot_id=ids.shot_id(ep, 0),
                                               shot_index=0, frame_index=5, timestamp_s=0.2, public_key=key,
                                               public_digest=first.digest)])
    out = tmp_path / "export"
    export_drama(ctx, out, with_frames=True)
    (row,) = pq.read_table(out / "keyframes.parquet").to_pylist()
    assert (out / row["frame_file"]).read_bytes() == b"mask v1"
    second = ctx.store.put_bytes(Area.public, key, b"mask v2, re-masked", "image/jpeg")
    with ctx.db.session() as s:
        lineage.update_keyframe(s, ids.keyframe_id(ep, 5), public_digest=second.digest)
    export_drama(ctx, out, with_frames=True)
    assert (out / row["frame_file"]).read_bytes() == b"mask v2, re-masked"
    assert not ctx.store.exists(Area.private, key)  # nothing was read from or written to the private area


# --- re-exports into a folder that already holds files -------------------------------------------

def _drama(ctx: StepContext, frames: list[int], episode: str = "ep01.mp4") -> list[str]:
    """The drama's one episode with a published keyframe at each of ``frames`` (replacing any
    earlier ones); returns the keyframes' export paths."""
    ep = ids.episode_id(ctx.drama_id, episode)
    keys = ids.Keys(ctx.drama_id)
    rows, rels = [], []
    with ctx.db.session() as s:
        lineage.ensure_drama(s, ctx.drama_id)
        lineage.upsert_episode(s, id=ep, drama_id=ctx.drama_id, source_uri=episode, source_name=episode, status="ok")
        lineage.replace_shots(s, ep, [dict(id=ids.shot_id(ep, 0), episode_id=ep, shot_index=0, start_frame=0,
                                           end_frame=100, start_s=0.0, end_s=4.0)])
        for f in frames:
            key = keys.frame(ep, 0, f)
            put = ctx.store.put_bytes(Area.public, key, f"masked {ctx.drama_id} {f}".encode(), "image/jpeg")
            rows.append(dict(id=ids.keyframe_id(ep, f), episode_id=ep, shot_id=ids.shot_id(ep, 0), shot_index=0,
                             frame_index=f, timestamp_s=f / 25, public_key=key, public_digest=put.digest))
            rels.append("frames/" + key.removeprefix("frames/"))
        lineage.replace_keyframes(s, ep, rows)
    return rels


def _files(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}


def _manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text())  # type: ignore[no-any-return]


def test_reexport_with_fewer_keyframes_leaves_no_stale_frame_and_keeps_user_files(
    ctx: StepContext, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "export"
    first = _drama(ctx, [5, 30, 60])
    export_drama(ctx, out, with_frames=True)
    assert set(first) <= _files(out) and set(_manifest(out)["files"]) == _files(out) - {"manifest.json"}
    (out / "notes.txt").write_text("my notes")
    (out / "frames" / "keep-me.txt").write_text("a note among the frames")
    second = _drama(ctx, [30])  # a re-run picked fewer keyframes
    with caplog.at_level(logging.INFO, logger="skyscript.export"):
        export_drama(ctx, out, with_frames=True)
    files = _files(out)
    assert {f for f in files if f.endswith(".jpg")} == set(second)
    assert [r["frame_file"] for r in pq.read_table(out / "keyframes.parquet").to_pylist()] == second
    assert (out / "notes.txt").read_text() == "my notes"
    assert (out / "frames" / "keep-me.txt").read_text() == "a note among the frames"
    manifest = _manifest(out)
    assert set(manifest["files"]) == files - {"manifest.json", "notes.txt", "frames/keep-me.txt"}
    assert "notes.txt" not in (out / "README.md").read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(".skyscript-export-")]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "2 file(s) not written by this export were left alone" in warnings[0]
    assert "frames/keep-me.txt" in warnings[0] and "notes.txt" in warnings[0]
    assert any("removed 2 file(s) of the previous export" in r.getMessage() for r in caplog.records)


def test_export_of_another_drama_replaces_the_first_ones_files(settings: Any, ctx: StepContext, tmp_path: Path) -> None:
    out = tmp_path / "export"
    _drama(ctx, [5, 30])
    export_drama(ctx, out, with_frames=True)
    assert any(f.startswith("webdataset/test-drama-") for f in _files(out))
    (out / "notes.txt").write_text("mine")
    other = open_context(settings, "other-drama")
    try:
        rels = _drama(other, [7])
        export_drama(other, out, with_frames=True)
    finally:
        other.db.dispose()
    files = _files(out)
    assert not [f for f in files if "test-drama" in f], files  # no frame, shard or table row of the first
    assert {f for f in files if f.endswith(".jpg")} == set(rels)
    assert {f for f in files if f.startswith("webdataset/")} == {"webdataset/other-drama-000000.tar"}
    assert not (out / "frames" / "test-drama").exists()  # folders the removals emptied are gone
    assert pq.read_table(out / "episodes.parquet").column("episode_id").to_pylist() == ["other-drama--ep01"]
    assert _manifest(out)["drama_id"] == "other-drama" and (out / "notes.txt").read_text() == "mine"


def test_a_file_changed_since_the_export_is_not_removed(ctx: StepContext, tmp_path: Path) -> None:
    out = tmp_path / "export"
    first = _drama(ctx, [5, 30])
    export_drama(ctx, out, with_frames=True)
    (out / first[0]).write_bytes(b"retouched by hand")  # someone's file now
    _drama(ctx, [30])
    export_drama(ctx, out, with_frames=True)
    assert (out / first[0]).read_bytes() == b"retouched by hand"
    assert first[0] not in _manifest(out)["files"]


def test_a_crafted_manifest_cannot_remove_files_outside_the_folder(ctx: StepContext, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "f.jpg").write_text("keep me too")
    out = tmp_path / "export"
    out.mkdir()
    (out / "frames").symlink_to(elsewhere)
    sha = ids.sha256_file(victim)
    (out / "manifest.json").write_text(json.dumps({"ownership": "exact", "files": {
        "../victim.txt": {"sha256": sha, "bytes": 7}, str(victim): {"sha256": sha, "bytes": 7},
        "frames/f.jpg": {"sha256": ids.sha256_file(elsewhere / "f.jpg"), "bytes": 11}}}))
    _drama(ctx, [5])
    export_drama(ctx, out, with_frames=False)
    assert victim.read_text() == "keep me" and (elsewhere / "f.jpg").read_text() == "keep me too"


def test_a_failed_export_leaves_the_previous_one_and_the_next_cleans_up(
    settings: Any, ctx: StepContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "export"
    first = _drama(ctx, [5, 30, 60])
    export_drama(ctx, out, with_frames=True)
    before = {f: (out / f).read_bytes() for f in _files(out)}
    second = _drama(ctx, [30])

    def crash(*_a: Any, **_k: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(export_module, "write_card", crash)  # fails after the tables and frames are staged
    with pytest.raises(OSError, match="disk full"):
        export_drama(ctx, out, with_frames=True)
    assert {f: (out / f).read_bytes() for f in _files(out)} == before  # untouched, no staging left
    monkeypatch.undo()

    # another drama's export is killed while its files are moved into place: one of its frames
    # is in the folder, the manifest there is still the first drama's
    moved: list[str] = []
    real_move = folder_module._move

    def dies_midway(src: Path, dest: Path) -> None:
        if any(m.endswith(".jpg") for m in moved):
            raise KeyboardInterrupt
        moved.append(dest.relative_to(out).as_posix())
        real_move(src, dest)

    other = open_context(settings, "other-drama")
    try:
        _drama(other, [7])
        monkeypatch.setattr(folder_module, "_move", dies_midway)
        with pytest.raises(KeyboardInterrupt):
            export_drama(other, out, with_frames=True)
    finally:
        other.db.dispose()
    monkeypatch.undo()
    assert "frames/other-drama/other-drama--ep01/s0000/f0000007.jpg" in moved
    export_drama(ctx, out, with_frames=True)
    files = _files(out)
    assert {f for f in files if f.endswith(".jpg")} == set(second) and set(first) - set(second)
    assert not [f for f in files if "other-drama" in f], files
    assert set(_manifest(out)["files"]) == files - {"manifest.json"}
    assert not [p for p in out.iterdir() if p.name.startswith(".skyscript-export-")]


def test_an_export_from_before_exact_manifests_removes_only_export_files(ctx: StepContext, tmp_path: Path) -> None:
    """Earlier releases listed every file of the folder, a user's too: of such a manifest only the
    export's own layout is taken as the export's."""
    out = tmp_path / "export"
    first = _drama(ctx, [5, 30])
    export_drama(ctx, out, with_frames=True)
    (out / "notes.txt").write_text("mine")
    manifest = _manifest(out)
    del manifest["ownership"]
    manifest["files"]["notes.txt"] = {"sha256": ids.sha256_file(out / "notes.txt"), "bytes": 4}
    (out / "manifest.json").write_text(json.dumps(manifest))
    _drama(ctx, [30])
    export_drama(ctx, out, with_frames=True)
    assert (out / "notes.txt").read_text() == "mine" and not (out / first[0]).exists()


def test_one_export_at_a_time_per_folder_and_a_killed_one_leaves_no_lock(tmp_path: Path) -> None:
    """A second export into a folder another process is exporting into fails at once, naming the
    holder, and leaves the first one's staging folder alone; once the holder dies (kill -9) the
    next export takes the folder, and no lock file is left behind after it."""
    import signal
    import subprocess
    import sys

    from skyscript.export.folder import LOCK, ExportBusy, ExportFolder

    out = tmp_path / "export"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from skyscript.export.folder import ExportFolder; "
         f"f = ExportFolder(Path({str(out)!r})); (f.stage / 'a.txt').write_text('a'); print('ready', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        staging = [p for p in out.iterdir() if p.name.startswith(".skyscript-export-")]
        with pytest.raises(ExportBusy, match=f"another export is writing into .*export \\(pid {holder.pid}\\)"):
            ExportFolder(out)
        assert [p for p in out.iterdir() if p.name.startswith(".skyscript-export-")] == staging  # untouched
        assert (staging[0] / "a.txt").read_text() == "a"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    folder = ExportFolder(out)  # the dead holder's lock is gone with it; its staging folder is swept
    (folder.stage / "b.txt").write_text("b")
    folder.commit()
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]
    assert not (out / LOCK).exists()
    again = ExportFolder(out)  # in one process too, one after the other
    again.abort()
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]
