"""Uploaded files (SPEC §13): an item's image and its delivery file.

Each upload is copied in chunks into MEDIA_DIR under a random key (never a name the uploader
chose), hashed on the way, and judged by its first bytes, not by its name or the type the
browser claimed: an HTML page renamed `.png` is not an image. The type found is stored and is
the one the file is served with. Nothing here reads a whole file into memory."""

from __future__ import annotations

import hashlib
import os
import unicodedata
from pathlib import Path
from typing import BinaryIO

import filetype
from flask import current_app
from sqlalchemy import select

from app.errors import FileTooLargeError, NotFoundError, ValidationError
from app.extensions import db
from app.models import MediaFile, MediaPurpose
from app.security import random_token

MB = 1024 * 1024
MAX_IMAGE_BYTES = 2 * MB
MAX_DELIVERY_BYTES = 25 * MB
# What a multipart request may add around the file (boundaries, headers, credentials).
MULTIPART_OVERHEAD = 64 * 1024
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
SNIFF_BYTES = 8192
CHUNK = 64 * 1024


def store_upload(
    project_id: str, purpose: MediaPurpose, stream: BinaryIO, filename: str | None
) -> MediaFile:
    """Copy an uploaded file into MEDIA_DIR and add its row to the session (the caller
    commits). A refused file leaves nothing behind."""
    limit = MAX_IMAGE_BYTES if purpose == MediaPurpose.IMAGE else MAX_DELIVERY_BYTES
    key = random_token(32)
    path = media_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with partial.open("wb") as out:
            for chunk in iter(lambda: stream.read(CHUNK), b""):
                size += len(chunk)
                if size > limit:
                    raise FileTooLargeError(
                        "the file is larger than %(megabytes)s MB", "file", megabytes=limit // MB
                    )
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationError("the file is empty", "file")
        content_type = _content_type(purpose, head)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    media = MediaFile(
        key=key,
        project_id=project_id,
        purpose=purpose,
        filename=download_name(filename, content_type),
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
    )
    db.session.add(media)
    return media


def _content_type(purpose: MediaPurpose, head: bytes) -> str:
    kind = filetype.guess(head)
    found = kind.mime if kind is not None else None
    if purpose == MediaPurpose.IMAGE:
        if found not in IMAGE_TYPES:
            raise ValidationError(
                "the image must be a PNG, JPEG or WebP file (judged by its content)", "file"
            )
        return found
    # A delivery may be anything the merchant sells; it is only ever sent as an attachment.
    return found or "application/octet-stream"


def download_name(filename: str | None, content_type: str) -> str:
    """The name the buyer's download gets: the uploader's, without any folder, control
    character or path trick, at most 255 characters; a plain one when nothing is left."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if c.isprintable())
    name = name.strip().strip(".")
    if not name:
        extension = IMAGE_TYPES.get(content_type) or filetype.get_type(mime=content_type)
        suffix = extension if isinstance(extension, str) else getattr(extension, "extension", "")
        name = "file" + (f".{suffix}" if suffix else "")
    return name[-255:]


def media_path(key: str) -> Path:
    return Path(current_app.config["MEDIA_DIR"]) / key[:2] / key


def forget(media: MediaFile | None) -> Path | None:
    """Drop the row of a file no item uses any more; its bytes' path, for the caller to
    `unlink_files` once the change is committed (a rollback keeps both)."""
    if media is None:
        return None
    db.session.delete(media)
    return media_path(media.key)


def unlink_files(paths: list[Path | None]) -> None:
    """Remove committed-away files. A download already streaming keeps its open file."""
    for path in paths:
        if path is not None:
            path.unlink(missing_ok=True)


def public_image(key: str) -> MediaFile:
    """An item's image by its key; NotFoundError for anything else (a delivery file is never
    served here, whatever its key)."""
    file = (
        db.session.scalar(
            select(MediaFile).where(MediaFile.key == key, MediaFile.purpose == MediaPurpose.IMAGE)
        )
        if len(key) <= 40
        else None
    )
    if file is None:
        raise NotFoundError("no such image")
    return file
