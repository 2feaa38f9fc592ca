"""Uploaded files: checked by their content (magic bytes), stored under generated names.

The client's file name and content type are never trusted: a file is what its
first bytes say it is. Accepted files are written atomically (a temporary file
renamed into place) under ``UPLOAD_DIR``, outside ``static/``, with a random
name; the database keeps the path relative to ``UPLOAD_DIR``.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.services.errors import DomainError, Invalid, NotFound

MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Kind:
    """A file format we accept: its content type, stored extension and name for people."""

    content_type: str
    extension: str
    label: str


JPEG = Kind("image/jpeg", "jpg", "JPG")
PNG = Kind("image/png", "png", "PNG")
PDF = Kind("application/pdf", "pdf", "PDF")
WEBP = Kind("image/webp", "webp", "WebP")
PROOF_KINDS = (JPEG, PNG, PDF)
EVIDENCE_KINDS = (JPEG, PNG, WEBP, PDF)

# The extensions a name may claim for each kind (only used to word the refusal).
_NAMED = {"jpg": JPEG, "jpeg": JPEG, "png": PNG, "pdf": PDF, "webp": WEBP}


class TooLarge(DomainError):
    """A file over the size limit (HTTP 413)."""

    status = 413
    code = "too_large"


@dataclass(frozen=True)
class Upload:
    """A checked upload, read into memory (at most MAX_BYTES)."""

    data: bytes
    kind: Kind
    original_name: str


def detect(head: bytes) -> Kind | None:
    """The accepted kind whose signature `head` (the first bytes of a file) starts with."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"%PDF-"):
        return PDF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


def describe(head: bytes) -> str:
    """What a refused file looks like, in words, for the error message."""
    if kind := detect(head):
        return f"a {kind.label} file"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "a ZIP archive"
    if head.startswith(b"GIF8"):
        return "a GIF image"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return "an HTML page"
    if text.startswith((b"<svg", b"<?xml")):
        return "an SVG or XML document"
    return "not a format we know"


def read(file: FileStorage | None, kinds: tuple[Kind, ...], *, field: str = "file",
         max_bytes: int = MAX_BYTES) -> Upload:
    """Read and check an uploaded file; Invalid (or TooLarge, 413) with the reason if refused."""
    if file is None or not file.filename:
        raise _invalid(field, "Choose a file to upload.")
    name = clean_name(file.filename)
    data = file.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        message = (f"“{name}” is {_size_of(file.stream, len(data))}; files may be at most "
                   f"{_megabytes(max_bytes)}. Nothing was uploaded.")
        raise TooLarge(message, {field: message})
    if not data:
        raise _invalid(field, f"“{name}” is empty. Choose the file again; nothing was uploaded.")
    kind = detect(data[:16])
    if kind is None or kind not in kinds:
        raise _invalid(field, _wrong_kind(name, data[:512], kinds))
    return Upload(data, kind, name)


def _size_of(stream: IO[bytes], read: int) -> str:
    try:
        return size_label(stream.seek(0, os.SEEK_END))
    except (OSError, ValueError):  # not seekable: say what we know
        return f"larger than {size_label(read - 1)}"


def _wrong_kind(name: str, head: bytes, kinds: tuple[Kind, ...]) -> str:
    allowed = _join([k.label for k in kinds])
    what = describe(head)
    claimed = _NAMED.get(name.rsplit(".", 1)[-1].lower()) if "." in name else None
    if claimed is not None and claimed is not detect(head):
        return (f"“{name}” is named like a {claimed.label} but its content is {what}. "
                f"Only {allowed} files are accepted; nothing was uploaded.")
    return f"“{name}” is {what}. Only {allowed} files are accepted; nothing was uploaded."


def store(upload: Upload, folder: str) -> str:
    """Write `upload` under UPLOAD_DIR/`folder` with a random name; return its relative path."""
    directory = _root() / folder
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{upload.kind.extension}"
    # Write a temporary file next to the target and rename it: readers see all or nothing.
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(upload.data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, directory / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    relative = f"{folder}/{name}"
    # The row that points at the file is not committed yet: if it never is, drop the file.
    db.session.info.setdefault(_WRITTEN, []).append(relative)
    return relative


_WRITTEN = "uploads_written"


@event.listens_for(Session, "after_commit")
def _keep_written(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_written(session: Session, _previous) -> None:
    if session.in_transaction():  # a savepoint rolled back; the outer transaction goes on
        return
    for relative in session.info.pop(_WRITTEN, []):
        try:
            delete(relative)
        except RuntimeError:  # no app context: nowhere to look for UPLOAD_DIR
            pass


def path_of(relative: str) -> Path:
    """The absolute path of a stored file; NotFound if it is gone or points outside UPLOAD_DIR."""
    root = _root().resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound("That file is no longer available.")
    return path


def delete(relative: str) -> None:
    """Remove a stored file (e.g. when the change that referenced it is abandoned)."""
    try:
        path_of(relative).unlink(missing_ok=True)
    except NotFound:
        pass


def clean_name(name: str) -> str:
    """The client's file name for display only: its last part, printable, at most 120 chars."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    printable = "".join(ch for ch in base if not unicodedata.category(ch).startswith("C"))
    return printable.strip()[:120] or "file"


def size_label(size: int) -> str:
    """A file size for people: 812 bytes, 34 KB, 1.2 MB."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size // 1024} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _root() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _join(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} or {labels[-1]}"


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, {field: message})
