"""Object store on any S3 server through the ``minio`` SDK (MinIO in production)."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path
from typing import Callable, Iterator, TypeVar
from urllib.parse import parse_qs, urlsplit

import urllib3
from minio import Minio
from minio.error import S3Error

from skyscript.store.base import (
    Area,
    ObjectNotFound,
    ObjectStore,
    StoreAccessDenied,
    StoreError,
    StoredObject,
    StoreUnavailable,
    check_key,
    digest_of,
)

T = TypeVar("T")

_DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidSecurity", "ExpiredToken"}
_MISSING = {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}
DIGEST_META = "x-amz-meta-sha256"


class S3Store(ObjectStore):
    """Two buckets, one per area, so a bucket policy can keep the private one private.

    The HTTP pool has short timeouts and a bounded retry with backoff: a server that goes away
    mid-run turns into :class:`StoreUnavailable` within seconds, not a hang.
    """

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        *,
        secure: bool = False,
        region: str | None = None,
        private_bucket: str = "skyscript-private",
        public_bucket: str = "skyscript-public",
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 30.0,
        retries: int = 2,
        create_buckets: bool = True,
    ) -> None:
        self.endpoint = endpoint
        self.buckets = {Area.private: private_bucket, Area.public: public_bucket}
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s),
            maxsize=16,
            retries=urllib3.Retry(total=retries, backoff_factor=0.3, status_forcelist=(500, 502, 503, 504)),
        )
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region, http_client=http)
        if create_buckets:
            for bucket in self.buckets.values():
                self._call(lambda b=bucket: None if self.client.bucket_exists(b) else self.client.make_bucket(b), f"bucket {bucket}")

    @classmethod
    def from_url(cls, url: str, access_key: str, secret_key: str, **kw: object) -> "S3Store":
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"S3 store URL must look like s3://host:port[?secure=true], got {url!r}")
        query = parse_qs(parts.query)
        secure = query.get("secure", ["false"])[0].lower() in ("1", "true", "yes")
        return cls(parts.netloc, access_key, secret_key, secure=secure, **kw)  # type: ignore[arg-type]

    def _call(self, fn: Callable[[], T], what: str) -> T:
        try:
            return fn()
        except S3Error as exc:
            if exc.code in _DENIED:
                raise StoreAccessDenied(f"S3 server {self.endpoint} rejected the credentials ({exc.code}) for {what}") from exc
            if exc.code in _MISSING:
                raise ObjectNotFound(f"no object {what} on {self.endpoint}") from exc
            raise StoreError(f"S3 error {exc.code} for {what} on {self.endpoint}: {exc.message}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreUnavailable(f"S3 server {self.endpoint} unreachable for {what}: {exc.__class__.__name__}: {exc}") from exc

    def _bucket(self, area: Area) -> str:
        return self.buckets[Area(area)]

    def put_bytes(self, area: Area, key: str, data: bytes, content_type: str = "application/octet-stream") -> StoredObject:
        check_key(key)
        digest = digest_of(data)
        self._call(
            lambda: self.client.put_object(
                self._bucket(area), key, io.BytesIO(data), len(data), content_type=content_type, metadata={"sha256": digest}
            ),
            f"{Area(area).value}:{key}",
        )
        return StoredObject(Area(area), key, len(data), digest)

    def put_file(self, area: Area, key: str, path: str | Path, content_type: str = "application/octet-stream") -> StoredObject:
        """Hashed in one streaming pass, then uploaded by the SDK in parts (never whole in memory)."""
        check_key(key)
        h = hashlib.sha256()
        size = 0
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
                size += len(block)
        digest = "sha256:" + h.hexdigest()
        self._call(
            lambda: self.client.fput_object(self._bucket(area), key, str(path), content_type=content_type,
                                            metadata={"sha256": digest}),
            f"{Area(area).value}:{key}",
        )
        return StoredObject(Area(area), key, size, digest)

    def get_file(self, area: Area, key: str, dest: str | Path) -> Path:
        """Streamed to ``dest`` by the SDK (through a part file it renames)."""
        check_key(key)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        self._call(lambda: self.client.fget_object(self._bucket(area), key, str(dest)), f"{Area(area).value}:{key}")
        return dest

    def get_bytes(self, area: Area, key: str) -> bytes:
        check_key(key)

        def fetch() -> bytes:
            resp = self.client.get_object(self._bucket(area), key)
            try:
                return resp.read()
            finally:
                resp.close()
                resp.release_conn()

        return self._call(fetch, f"{Area(area).value}:{key}")

    def exists(self, area: Area, key: str) -> bool:
        try:
            self.stat(area, key)
            return True
        except ObjectNotFound:
            return False

    def stat(self, area: Area, key: str) -> StoredObject:
        check_key(key)
        st = self._call(lambda: self.client.stat_object(self._bucket(area), key), f"{Area(area).value}:{key}")
        meta = {k.lower(): v for k, v in (st.metadata or {}).items()}
        digest = meta.get(DIGEST_META) or digest_of(self.get_bytes(area, key))
        return StoredObject(Area(area), key, int(st.size or 0), digest)

    def list(self, area: Area, prefix: str = "") -> Iterator[str]:
        objs = self._call(
            lambda: [o.object_name for o in self.client.list_objects(self._bucket(area), prefix=prefix, recursive=True)],
            f"list {Area(area).value}:{prefix}*",
        )
        yield from sorted(o for o in objs if o)

    def delete(self, area: Area, key: str) -> None:
        check_key(key)
        self._call(lambda: self.client.remove_object(self._bucket(area), key), f"{Area(area).value}:{key}")

    def presigned_get(self, area: Area, key: str, expires_s: int = 3600) -> str:
        self.stat(area, key)  # fail clearly on a missing object rather than hand out a dead link
        return self._call(
            lambda: self.client.presigned_get_object(self._bucket(area), key, expires=timedelta(seconds=expires_s)),
            f"presign {Area(area).value}:{key}",
        )

    def describe(self) -> str:
        return f"S3 {self.endpoint} buckets {self.buckets[Area.private]}, {self.buckets[Area.public]}"
