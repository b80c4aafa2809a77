"""A QRIS code from a picture of it: base64 in, the QR code's text out. Pillow decodes the
picture (PNG, JPEG or WebP, judged by its bytes, never by a name), zxing-cpp finds the QR code.
Both run on bytes a stranger sent, so every limit is checked before the work it bounds: the
size before decoding the base64, the pixel count from the header before decoding the picture."""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings

import zxingcpp
from PIL import Image

from app.errors import FileTooLargeError, InvalidImageError

MAX_IMAGE_BYTES = 2 * 1024 * 1024
# A 2 MB file can claim any size in its header; 40 megapixels is more than a phone's camera
# gives and about 40 MB once grey.
MAX_PIXELS = 40_000_000
FORMATS = ("PNG", "JPEG", "WEBP")
_DATA_URL = re.compile(r"data:image/[a-z.+-]+;base64,", re.IGNORECASE)


def image_bytes(encoded: str) -> bytes:
    """The picture sent as base64 (standard alphabet, line breaks allowed, a `data:image/…;
    base64,` prefix allowed)."""
    prefix = _DATA_URL.match(encoded)
    text = "".join(encoded[prefix.end() if prefix else 0 :].split())
    if len(text) > (MAX_IMAGE_BYTES + 2) // 3 * 4:
        raise FileTooLargeError("the image is larger than 2 MB", "image")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImageError(
            "image must be base64 (the picture's bytes, encoded)", "image"
        ) from None
    if not data:
        raise InvalidImageError("the image is empty", "image")
    return data


def qr_text(data: bytes) -> str:
    """The text of the one QR code in the picture `data`."""
    if len(data) > MAX_IMAGE_BYTES:
        raise FileTooLargeError("the image is larger than 2 MB", "image")
    grey = _grey(data)
    texts = []
    for found in zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormat.QRCode):
        if found.valid and found.text not in texts:
            texts.append(found.text)
    if not texts:
        raise InvalidImageError("no QR code found in the image", "image")
    if len(texts) > 1:
        raise InvalidImageError(
            "the image holds %(count)s different QR codes; send a picture of one",
            "image",
            count=len(texts),
        )
    return texts[0]


def _grey(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow warns from 89 megapixels and refuses from twice that; ours is lower.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as picture:
                if picture.width * picture.height > MAX_PIXELS:
                    raise Image.DecompressionBombError(picture.size)
                picture.draft("L", (2048, 2048))  # a JPEG decodes straight to a smaller grey
                return picture.convert("L")
    except Image.DecompressionBombError:
        raise InvalidImageError(
            "the image has too many pixels: at most %(megapixels)s megapixels",
            "image",
            megapixels=MAX_PIXELS // 1_000_000,
        ) from None
    except Exception:  # noqa: BLE001 - a decoder fed hostile bytes raises many kinds; all mean this
        raise InvalidImageError("image is not a PNG, JPEG or WebP picture", "image") from None
