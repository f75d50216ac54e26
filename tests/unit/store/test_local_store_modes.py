"""Published objects are world-readable files; private ones stay the owner's."""

from __future__ import annotations

import stat
from pathlib import Path

from skyscript.store import Area, LocalStore


def test_public_files_are_readable_by_everyone_private_ones_are_not(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    store.put_bytes(Area.public, "frames/d/a.jpg", b"masked")
    store.put_bytes(Area.private, "frames/d/a.jpg", b"unmasked")
    pub = stat.S_IMODE((tmp_path / "store" / "public" / "frames/d/a.jpg").stat().st_mode)
    priv = stat.S_IMODE((tmp_path / "store" / "private" / "frames/d/a.jpg").stat().st_mode)
    assert (pub, priv) == (0o644, 0o600)
