"""S3 failure modes against a real server: wrong credentials, a tampered presigned URL, and
a server that goes away in the middle of a run."""

from __future__ import annotations

import time

import httpx
import pytest

from skyscript.devtools.s3server import SeaweedS3
from skyscript.store import Area, StoreAccessDenied, StoreUnavailable
from skyscript.store.s3 import S3Store

pytestmark = pytest.mark.integration


def test_wrong_secret_is_rejected_clearly(s3_server: SeaweedS3) -> None:
    with pytest.raises(StoreAccessDenied, match="rejected the credentials"):
        S3Store(s3_server.endpoint, s3_server.access_key, "not-the-secret", private_bucket="denied-a", public_bucket="denied-b")


def test_unknown_access_key_is_rejected(s3_server: SeaweedS3) -> None:
    with pytest.raises(StoreAccessDenied):
        S3Store(s3_server.endpoint, "nobody", "nothing", private_bucket="denied-a", public_bucket="denied-b")


def test_tampered_presigned_url_is_refused(s3_server: SeaweedS3) -> None:
    st = S3Store(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, private_bucket="tp1", public_bucket="tp2")
    st.put_bytes(Area.public, "k.txt", b"v")
    url = st.presigned_get(Area.public, "k.txt", 300)
    assert httpx.get(url).status_code == 200
    bad = url.replace("k.txt", "k2.txt")
    assert httpx.get(bad).status_code in (403, 404)
    unsigned = url.split("?", 1)[0]
    assert httpx.get(unsigned).status_code == 403


def test_server_going_away_mid_run_raises_store_unavailable() -> None:
    srv = SeaweedS3().start()
    try:
        st = S3Store(srv.endpoint, srv.access_key, srv.secret_key, connect_timeout_s=1.0, read_timeout_s=3.0, retries=1)
        st.put_bytes(Area.private, "raw/d/e/source.mp4", b"first")
        assert st.get_bytes(Area.private, "raw/d/e/source.mp4") == b"first"
    finally:
        srv.close()
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable, match="unreachable"):
        st.put_bytes(Area.private, "raw/d/e/next.mp4", b"second")
    with pytest.raises(StoreUnavailable):
        st.get_bytes(Area.private, "raw/d/e/source.mp4")
    # bounded retries: it fails, it does not hang (generous bound, not a speed test)
    assert time.monotonic() - t0 < 60
