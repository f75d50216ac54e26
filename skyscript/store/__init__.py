"""Object store: one interface, a local-directory backend and an S3 backend."""

from __future__ import annotations

from urllib.parse import urlsplit
from urllib.request import url2pathname

from skyscript.config import Settings
from skyscript.store.base import (
    Area,
    ObjectNotFound,
    ObjectStore,
    StoreAccessDenied,
    StoredObject,
    StoreError,
    StoreUnavailable,
)
from skyscript.store.local import LocalStore

__all__ = [
    "Area",
    "LocalStore",
    "ObjectNotFound",
    "ObjectStore",
    "StoreAccessDenied",
    "StoreError",
    "StoreUnavailable",
    "StoredObject",
    "open_store",
]


def open_store(settings: Settings) -> ObjectStore:
    """The store the settings name: ``file://`` → :class:`LocalStore`, ``s3://`` → S3."""
    url = settings.store_url or ""
    scheme = urlsplit(url).scheme
    if scheme == "file":
        return LocalStore(url2pathname(urlsplit(url).path))
    if scheme == "s3":
        from skyscript.store.s3 import S3Store

        if settings.store_access_key is None or settings.store_secret_key is None:
            raise StoreError(
                f"store_url {url} needs credentials: set SKYSCRIPT_STORE_ACCESS_KEY and SKYSCRIPT_STORE_SECRET_KEY"
            )
        return S3Store.from_url(
            url,
            settings.store_access_key.get_secret_value(),
            settings.store_secret_key.get_secret_value(),
            region=settings.store_region,
            private_bucket=settings.private_bucket,
            public_bucket=settings.public_bucket,
        )
    raise StoreError(f"unsupported store_url {url!r}: use file:///path or s3://host:port")
