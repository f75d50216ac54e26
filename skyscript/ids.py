"""Deterministic identifiers and object-store keys.

Every id derives from natural ids (drama, episode, shot, frame), so a re-run computes the same
ids and its writes become upserts, never duplicates.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from os import PathLike
from pathlib import PurePosixPath

_SLUG_RE = re.compile(r"[^a-z0-9]+")


def slug(text: str, max_len: int = 60) -> str:
    """Lower-case, ``[a-z0-9-]`` only; never empty."""
    s = _SLUG_RE.sub("-", text.lower()).strip("-")[:max_len].strip("-")
    return s or "x"


def validate_drama_id(drama_id: str) -> str:
    if not drama_id or slug(drama_id) != drama_id:
        raise ValueError(
            f"drama id {drama_id!r} is not valid: use lower-case letters, digits and '-' (e.g. {slug(drama_id or 'my drama')!r})"
        )
    return drama_id


_PLAIN_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")


def episode_id(drama_id: str, source_name: str) -> str:
    """``<drama>--<slug of the file's stem>``: stable across re-runs of the same file name. A stem
    with characters the slug drops (a Chinese title such as 第一集, symbols) also gets a short
    digest of the stem, so 第一集 and 第二集 stay two episodes instead of both becoming ``x``."""
    stem = PurePosixPath(source_name).stem or source_name
    base = slug(stem)
    if not _PLAIN_STEM.match(stem):
        base = f"{base if base != 'x' else 'ep'}-{sha256_bytes(stem.encode('utf-8'))[:8]}"
    return f"{drama_id}--{base}"


def disambiguated_episode_id(drama_id: str, source_name: str) -> str:
    """The id for a file whose plain id another file name already holds (``clash.mp4`` beside
    ``clash.mkv``, ``Ep 1.mp4`` beside ``ep-1.mp4``): the plain id plus a digest of the full name."""
    return f"{episode_id(drama_id, source_name)}-{sha256_bytes(source_name.encode('utf-8'))[:8]}"


def shot_id(episode: str, shot_index: int) -> str:
    return f"{episode}--s{shot_index:04d}"


def keyframe_id(episode: str, frame_index: int) -> str:
    return f"{episode}--f{frame_index:07d}"


def drama_of(any_id: str) -> str:
    return any_id.split("--", 1)[0]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | PathLike[str], chunk: int = 1 << 20) -> str:
    """The hex sha256 of a file, read in 1 MiB blocks (the one file digest of the project)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def content_digest(data: bytes) -> str:
    """``sha256:<hex>``: how stored objects and frames are digested in lineage."""
    return "sha256:" + sha256_bytes(data)


def combined_digest(hex_digests: Iterable[str]) -> str:
    """One ``sha256:`` digest over several files' hex digests, in the order given."""
    return "sha256:" + hashlib.sha256("".join(hex_digests).encode()).hexdigest()


_SECRET_PARAM = re.compile(r"(sig|token|key|secret|pass|pwd|credential|auth|x-amz-|x-goog-)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` safe to store, log and show: a password in the user part and query parameters that
    look like credentials (signatures, tokens, keys: a presigned URL's ``X-Amz-Signature``)
    become ``***``. Anything that is not a URL comes back unchanged."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


_UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """``text`` safe inside one log line, message or table cell: control characters (newline,
    carriage return, escape sequences), line and paragraph separators, format characters (bidi
    overrides) and lone surrogates (a file name's undecodable bytes) become ``\\n``, ``\\r``,
    ``\\xNN`` or ``\\uNNNN``; everything else, a Chinese title included, stays as it is. Applying
    it twice changes nothing more."""
    import unicodedata

    if text.isprintable() and text.isascii():  # the common case, no per-character work
        return text
    out: list[str] = []
    for ch in text:
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif unicodedata.category(ch) in _UNPRINTABLE_CATEGORIES:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)


def text_digest(text: str) -> str:
    """Digest of a prompt or parameters, recorded in lineage."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Keys:
    """Object-store keys. Raw media and unmasked frames live in the private area;
    masked frames and reports in the published area."""

    drama: str

    def raw_video(self, episode: str, suffix: str) -> str:
        return f"raw/{self.drama}/{episode}/source{suffix.lower()}"

    def frame(self, episode: str, shot_index: int, frame_index: int) -> str:
        return f"frames/{self.drama}/{episode}/s{shot_index:04d}/f{frame_index:07d}.jpg"

    def signals(self, episode: str) -> str:
        return f"signals/{self.drama}/{episode}/frames.parquet"

    def report(self, name: str) -> str:
        return f"reports/{self.drama}/{name}"

    def raw_answer(self, episode: str, frame_index: int, step: str) -> str:
        return f"answers/{self.drama}/{episode}/{step}/f{frame_index:07d}.json"
