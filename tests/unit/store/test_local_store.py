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
