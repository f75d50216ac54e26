"""Kubernetes-safe label values and pod names for drama, episode, step and run ids.

A label value is at most 63 characters of ``[A-Za-z0-9._-]``, starting and ending with an
alphanumeric. Long values keep a readable prefix and end with a short digest so two long ids
never collide.
"""

from __future__ import annotations

import hashlib
import re

_BAD = re.compile(r"[^A-Za-z0-9._-]+")
MAX = 63


def label_value(value: str | None, max_len: int = MAX) -> str:
    if not value:
        return ""
    clean = _BAD.sub("-", value).strip("-._")
    if len(clean) > max_len or clean != value:
        digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:8]
        head = clean[: max_len - len(digest) - 1].rstrip("-._")
        clean = f"{head}-{digest}" if head else digest
    return clean


def dns_name(value: str, max_len: int = 50) -> str:
    """A DNS-1123 name part (lower-case alphanumerics and '-')."""
    clean = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")
    return (clean[:max_len].rstrip("-")) or "step"
