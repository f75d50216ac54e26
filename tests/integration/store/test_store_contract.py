"""The object-store contract, run against both backends for real: a local directory and an
S3 server (SeaweedFS) started on loopback by the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import httpx
import pytest

from skyscript.config import Settings
from skyscript.store import Area, ObjectNotFound, ObjectStore, open_store
from skyscript.store.base import digest_of

pytestmark = pytest.mark.integration


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield open_store(Settings(home=tmp_path / "home"))
    else:
        yield open_store(request.getfixturevalue("s3_settings"))


def test_put_get_roundtrip_with_digest(store: ObjectStore) -> None:
    data = b"\x00frame bytes\xff" * 100
    obj = store.put_bytes(Area.private, "frames/d/e/s0000/f0000001.jpg", data, "image/jpeg")
    assert obj.size == len(data)
    assert obj.digest == digest_of(data)
    assert store.get_bytes(Area.private, "frames/d/e/s0000/f0000001.jpg") == data
    assert store.stat(Area.private, "frames/d/e/s0000/f0000001.jpg").digest == obj.digest


def test_areas_are_separate(store: ObjectStore) -> None:
    store.put_bytes(Area.private, "frames/x.jpg", b"unmasked")
    assert not store.exists(Area.public, "frames/x.jpg")
    with pytest.raises(ObjectNotFound):
        store.get_bytes(Area.public, "frames/x.jpg")
    store.put_bytes(Area.public, "frames/x.jpg", b"masked")
    assert store.get_bytes(Area.private, "frames/x.jpg") == b"unmasked"
    assert store.get_bytes(Area.public, "frames/x.jpg") == b"masked"


def test_rewrite_replaces_and_list_by_prefix(store: ObjectStore) -> None:
    for i in range(3):
        store.put_bytes(Area.private, f"raw/d/e{i}/source.mp4", b"v1")
    store.put_bytes(Area.private, "raw/d/e1/source.mp4", b"v2")
    store.put_bytes(Area.private, "other/z", b"z")
    assert list(store.list(Area.private, "raw/d/")) == [f"raw/d/e{i}/source.mp4" for i in range(3)]
    assert store.get_bytes(Area.private, "raw/d/e1/source.mp4") == b"v2"
    assert store.delete_prefix(Area.private, "raw/d/") == 3
    assert list(store.list(Area.private)) == ["other/z"]


def test_file_roundtrip(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    src.write_bytes(b"abc" * 1000)
    store.put_file(Area.private, "raw/d/e/source.bin", src)
    out = store.get_file(Area.private, "raw/d/e/source.bin", tmp_path / "out" / "copy.bin")
    assert out.read_bytes() == src.read_bytes()


@pytest.mark.parametrize("bad", ["/abs", "a/../b", "a//b", "", "a/./b"])
def test_bad_keys_are_rejected(store: ObjectStore, bad: str) -> None:
    with pytest.raises(ValueError, match="invalid object key"):
        store.put_bytes(Area.private, bad, b"x")


def test_presigned_url_serves_the_object_without_credentials(store: ObjectStore) -> None:
    store.put_bytes(Area.public, "reports/d/loss.json", b'{"ok": true}')
    url = store.presigned_get(Area.public, "reports/d/loss.json", 300)
    if url.startswith("file://"):
        assert Path(url.removeprefix("file://")).read_bytes() == b'{"ok": true}'
    else:
        assert "X-Amz-Signature" in url
        assert httpx.get(url).content == b'{"ok": true}'
    with pytest.raises(ObjectNotFound):
        store.presigned_get(Area.public, "reports/d/missing.json")
