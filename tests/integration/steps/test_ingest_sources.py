"""Ingest from every kind of source for real: a folder, an HTTP server, an S3 prefix; content
digests skip what is already ingested, and unreachable sources become loss rows."""

from __future__ import annotations

import http.server
import shutil
import threading
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, Iterator

import pytest
from minio import Minio
from sqlalchemy import select

from skyscript.context import open_context
from skyscript.db import lineage
from skyscript.db.models import Episode
from skyscript.pipeline import run_drama
from skyscript.steps.ingest import IngestStep
from skyscript.steps.runner import run_step
from skyscript.store import Area

pytestmark = pytest.mark.integration


@pytest.fixture
def http_root(tmp_path: Path, sample_media: Path) -> Iterator[str]:
    root = tmp_path / "www"
    root.mkdir()
    shutil.copy(sample_media / "Megamind.avi", root / "ep01.avi")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_http_source_and_unreachable_url(ctx, http_root: str) -> None:  # type: ignore[no-untyped-def]
    ctx.settings.sources.allow_hosts = ["127.0.0.1"]  # loopback is refused unless allowed
    res = run_step(IngestStep(), replace(ctx, params={"sources": [f"{http_root}/ep01.avi", f"{http_root}/missing.avi"]}), None)
    assert res.status == "success"
    assert (res.counts["new"], res.counts["unreachable"]) == (1, 1)
    with ctx.db.session() as s:
        ep = s.get(Episode, "test-drama--ep01")
        assert ep.source_uri == f"{http_root}/ep01.avi" and ep.size_bytes == 1189270
        losses = [(lo.item_kind, lo.item_id, lo.reason) for lo in lineage.losses_of(s, "test-drama")]
    assert losses == [("source", f"{http_root}/missing.avi", "source_unreachable")]
    assert ctx.store.exists(Area.private, "raw/test-drama/test-drama--ep01/source.avi")


def test_duplicate_content_under_another_name_is_skipped(ctx, tmp_path: Path, sample_media: Path) -> None:  # type: ignore[no-untyped-def]
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(sample_media / "Megamind.avi", d / "a.avi")
    shutil.copy(sample_media / "Megamind.avi", d / "b.avi")
    res = run_step(IngestStep(), replace(ctx, params={"sources": [str(d)]}), None)
    assert (res.counts["files"], res.counts["new"], res.counts["duplicate"]) == (2, 1, 1)
    with ctx.db.session() as s:
        assert list(s.scalars(select(Episode.id))) == ["test-drama--a"]


def test_s3_prefix_source_with_s3_store_and_postgres(s3_settings, s3_server, pg_url: str, sample_media: Path) -> None:  # type: ignore[no-untyped-def]
    client = Minio(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, secure=False)
    bucket = "crawl-" + s3_settings.private_bucket.removeprefix("priv-")
    client.make_bucket(bucket)
    client.fput_object(bucket, "dramas/d1/ep01.avi", str(sample_media / "Megamind.avi"))
    client.put_object(bucket, "dramas/d1/notes.txt", __import__("io").BytesIO(b"x"), 1)
    settings = s3_settings.model_copy(update={"database_url": pg_url})
    c = open_context(settings, "s3-drama")
    try:
        summary = run_drama(c, [f"s3://{bucket}/dramas/d1/"])
        assert summary.failed == [] and summary.quarantined == {}
        with c.db.session() as s:
            ep = s.get(Episode, "s3-drama--ep01")
            assert (ep.source_uri, ep.status, ep.frame_count) == (f"s3://{bucket}/dramas/d1/ep01.avi", "ok", 270)
        # the raw media went to the private bucket of the S3 store
        assert c.store.stat(Area.private, "raw/s3-drama/s3-drama--ep01/source.avi").size == 1189270
    finally:
        c.db.dispose()


def test_unchanged_local_file_is_not_hashed_again_a_changed_one_is(ctx, tmp_path: Path, sample_media: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    from skyscript import ids

    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(sample_media / "Megamind.avi", d / "ep1.avi")
    hashed: list[str] = []
    real = ids.sha256_file
    monkeypatch.setattr(ids, "sha256_file", lambda p: hashed.append(Path(p).name) or real(p))
    ingest = lambda c: run_step(IngestStep(), replace(c, params={"sources": [str(d)]}), None).counts  # noqa: E731

    assert ingest(ctx)["new"] == 1 and hashed == ["ep1.avi"]
    with ctx.db.session() as s:
        assert s.get(Episode, "test-drama--ep1").source_mtime_ns == (d / "ep1.avi").stat().st_mtime_ns
    assert ingest(ctx)["unchanged"] == 1 and hashed == ["ep1.avi"]  # path, size and mtime: no hashing
    st = (d / "ep1.avi").stat()
    os.utime(d / "ep1.avi", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched, same bytes
    assert ingest(ctx)["unchanged"] == 1 and hashed == ["ep1.avi"] * 2
    assert ingest(ctx)["unchanged"] == 1 and len(hashed) == 2  # the new mtime was recorded
    rehash = replace(ctx, settings=ctx.settings.model_copy(update={"ingest_rehash": True}))
    assert ingest(rehash)["unchanged"] == 1 and len(hashed) == 3  # ops can ask for a full re-digest
    shutil.copy(sample_media / "vtest.avi", d / "ep1.avi")  # new content under the same name
    assert ingest(ctx)["new"] == 1 and len(hashed) == 4


def _served(tmp_path: Path, sample_media: Path, hits: list[str], redirect_to: str | None = None) -> tuple[str, Any]:
    root = tmp_path / "www"
    root.mkdir(exist_ok=True)
    shutil.copy(sample_media / "Megamind.avi", root / "ep01.avi")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(root), **kw)

        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            if redirect_to and self.path == "/jump.avi":
                self.send_response(302)
                self.send_header("Location", redirect_to)
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *a: Any) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{srv.server_address[1]}", srv


def test_private_addresses_redirects_and_size_are_guarded(ctx, tmp_path: Path, sample_media: Path) -> None:  # type: ignore[no-untyped-def]
    hits: list[str] = []
    root, srv = _served(tmp_path, sample_media, hits, redirect_to="http://169.254.169.254/latest/meta-data/ep.avi")
    try:
        # loopback not allowed: refused before any request is sent
        res = run_step(IngestStep(), replace(ctx, params={"sources": [f"{root}/ep01.avi"]}), None)
        assert res.counts["new"] == 0 and hits == []
        with ctx.db.session() as s:
            [loss] = lineage.losses_of(s, "test-drama")
        assert (loss.item_id, loss.reason) == (f"{root}/ep01.avi", "unsafe_source") and "loopback" in (loss.detail or "")
        # loopback allowed, but its redirect to the cloud metadata address is checked and refused
        ctx.settings.sources.allow_hosts = ["127.0.0.1"]
        res = run_step(IngestStep(), replace(ctx, params={"sources": [f"{root}/jump.avi"]}), None)
        assert res.counts["new"] == 0 and hits == ["/jump.avi"]
        with ctx.db.session() as s:
            assert [lo.reason for lo in lineage.losses_of(s, "test-drama")] == ["unsafe_source"]
        # a body over the size cap is abandoned and its part removed
        ctx.settings.sources.max_download_mb = 0.5
        res = run_step(IngestStep(), replace(ctx, params={"sources": [f"{root}/ep01.avi"]}), None)
        with ctx.db.session() as s:
            [loss] = lineage.losses_of(s, "test-drama")
        assert res.counts["unreachable"] == 1 and "larger than 0.5 MB" in (loss.detail or "")
        # a URL ending in /.. writes nothing outside the work folder and does not stop the others (the
        # server's index page it gets is an episode of its own, which the probe will quarantine)
        ctx.settings.sources.max_download_mb = 100
        res = run_step(IngestStep(), replace(ctx, params={"sources": [f"{root}/..", f"{root}/ep01.avi"]}), None)
        assert res.status == "success"
        with ctx.db.session() as s:
            names = sorted(e.source_name for e in lineage.episodes_of(s, "test-drama"))
        assert names == ["download.bin", "ep01.avi"]
    finally:
        srv.shutdown()


def test_dangling_link_in_a_folder_is_a_loss_row(ctx, tmp_path: Path, sample_media: Path) -> None:  # type: ignore[no-untyped-def]
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(sample_media / "vtest.avi", d / "ep1.avi")
    (d / "ep2.mp4").symlink_to(tmp_path / "gone.mp4")
    res = run_step(IngestStep(), replace(ctx, params={"sources": [str(d)]}), None)
    assert (res.counts["new"], res.counts["problems"]) == (1, 1)
    with ctx.db.session() as s:
        assert [(lo.item_id, lo.reason) for lo in lineage.losses_of(s, "test-drama")] == [(str(d / "ep2.mp4"), "dangling_link")]


def test_s3_keys_cannot_escape_the_work_folder(s3_settings, s3_server, sample_media: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from skyscript import sources

    client = Minio(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, secure=False)
    bucket = "keys-" + s3_settings.private_bucket.removeprefix("priv-")
    client.make_bucket(bucket)
    client.fput_object(bucket, "d/ep01.avi", str(sample_media / "vtest.avi"))
    work = tmp_path / "work"
    work.mkdir()
    assert sources.confined(work, "/etc/passwd.mp4") == work / "etc" / "passwd.mp4"
    assert sources.confined(work, "d/../../evil.mp4") is None and sources.confined(work, "..") is None
    items = list(sources.resolve([f"s3://{bucket}/d/"], s3_settings, work))
    assert [type(i).__name__ for i in items] == ["SourceFile"] and items[0].path == work / bucket / "d" / "ep01.avi"


def test_files_whose_names_map_to_one_id_stay_separate(ctx, tmp_path: Path, sample_media: Path) -> None:  # type: ignore[no-untyped-def]
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(sample_media / "vtest.avi", d / "第一集.avi")
    shutil.copy(sample_media / "Megamind.avi", d / "第二集.avi")
    shutil.copy(sample_media / "vtest.avi", d / "clash.avi")
    (d / "clash.mkv").write_bytes((sample_media / "Megamind.avi").read_bytes() + b"\0")
    first = run_step(IngestStep(), replace(ctx, params={"sources": [str(d)]}), None).counts
    again = run_step(IngestStep(), replace(ctx, params={"sources": [str(d)]}), None).counts
    with ctx.db.session() as s:
        eps = {e.source_name: e.id for e in lineage.episodes_of(s, "test-drama")}
    assert (first["new"], first["duplicate"], again["new"], again["unchanged"]) == (3, 1, 0, 3)
    # 第一集 and clash.avi have the same bytes: one of them is the duplicate; 第二集 and clash.mkv
    # differ; every kept name has its own id and a re-run copies nothing again
    assert len(set(eps.values())) == len(eps) == 3
    assert eps.get("clash.mkv", "").startswith("test-drama--clash-")


def test_credentials_in_urls_never_reach_the_database_logs_or_exports(
    ctx, http_root: str, tmp_path: Path, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    """A source URL with a password and a presigned-style token, and a database URL with a password:
    the secrets are used, but never stored, logged, printed or exported."""
    import logging
    import sqlite3

    from click.testing import CliRunner

    from skyscript.cli import cli
    from skyscript.export import export_drama
    from skyscript.ids import redact_url

    ctx.settings.sources.allow_hosts = ["127.0.0.1"]
    host = http_root.removeprefix("http://")
    good = f"http://ops:PW-s3cr3t@{host}/ep01.avi?X-Amz-Signature=SIG-s3cr3t&part=1"
    gone = f"http://ops:PW-s3cr3t@{host}/missing.avi?token=TOK-s3cr3t"
    assert redact_url(good) == f"http://ops:***@{host}/ep01.avi?X-Amz-Signature=***&part=1"
    with caplog.at_level(logging.DEBUG, logger="skyscript"):
        res = run_step(IngestStep(), replace(ctx, params={"sources": [good, gone]}), None)
    assert (res.counts["new"], res.counts["unreachable"]) == (1, 1)  # the credentials were used
    export_drama(ctx, tmp_path / "export", with_frames=False)
    dumped = "\n".join(sqlite3.connect(str(ctx.settings.home / "lineage.db")).iterdump())
    exported = "".join(p.read_bytes().decode("latin-1") for p in (tmp_path / "export").rglob("*") if p.is_file())
    for secret in ("PW-s3cr3t", "SIG-s3cr3t", "TOK-s3cr3t"):
        assert secret not in dumped and secret not in caplog.text and secret not in exported, secret
    assert f"http://ops:***@{host}/ep01.avi" in dumped
    # the database password is masked wherever the settings are shown
    out = CliRunner(env={"SKYSCRIPT_DATABASE_URL": "postgresql+psycopg://app:DB-s3cr3t@db.example:5432/lineage"}).invoke(cli, ["config"])
    assert out.exit_code == 0 and "DB-s3cr3t" not in out.output and "app:***@db.example" in out.output
