from pathlib import Path

import pytest

from skyscript.store import Area, LocalStore


def test_failed_write_leaves_old_object_and_no_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    st = LocalStore(tmp_path / "s")
    st.put_bytes(Area.private, "a/b.bin", b"old")

    def boom(*_a: object, **_k: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("skyscript.store.local.os.replace", boom)
    with pytest.raises(OSError, match="disk full"):
        st.put_bytes(Area.private, "a/b.bin", b"new-content")
    monkeypatch.undo()
    assert st.get_bytes(Area.private, "a/b.bin") == b"old"
    assert sorted(p.name for p in (tmp_path / "s" / "private" / "a").iterdir()) == ["b.bin"]


def test_layout_is_area_then_key(tmp_path: Path) -> None:
    st = LocalStore(tmp_path / "s")
    st.put_bytes(Area.public, "frames/d/e/f.jpg", b"x")
    assert (tmp_path / "s" / "public" / "frames" / "d" / "e" / "f.jpg").read_bytes() == b"x"
    assert st.presigned_get(Area.public, "frames/d/e/f.jpg").startswith("file://")


def test_files_are_streamed_and_stale_parts_swept(tmp_path: Path) -> None:
    import os
    import time

    from skyscript.ids import content_digest
    from skyscript.store import Area, LocalStore

    store = LocalStore(tmp_path / "store")
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(3 * (1 << 20) + 17))  # several blocks and a tail
    obj = store.put_file(Area.private, "raw/d/e/source.mp4", src)
    assert (obj.size, obj.digest) == (src.stat().st_size, content_digest(src.read_bytes()))
    back = store.get_file(Area.private, "raw/d/e/source.mp4", tmp_path / "out" / "copy.mp4")
    assert back.read_bytes() == src.read_bytes() and not list((tmp_path / "out").glob("*.part"))
    folder = store.path_of(Area.private, "raw/d/e/source.mp4").parent
    old, young = folder / ".tmp-dead.part", folder / ".tmp-live.part"
    old.write_bytes(b"x")
    young.write_bytes(b"y")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert store.sweep_parts(3600) == 1 and not old.exists() and young.exists()
    assert list(store.list(Area.private)) == ["raw/d/e/source.mp4"]
