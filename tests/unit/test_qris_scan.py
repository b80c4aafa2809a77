"""Reading a QR code out of bytes a stranger sent (app/services/qris/scan.py): whatever the
bytes, the answer is the code's text or one of our two errors, never a decoder's own."""

from __future__ import annotations

import base64
import io

import segno
from hypothesis import example, given
from hypothesis import strategies as st

from app.errors import FileTooLargeError, InvalidImageError
from app.services.qris import scan

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_START = b"\xff\xd8\xff\xe0"
WEBP_START = b"RIFF\x00\x00\x00\x00WEBPVP8 "


def qr_png(text: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=4)
    return buffer.getvalue()


def _refused_or_read(data: bytes) -> None:
    try:
        scan.qr_text(data)
    except (InvalidImageError, FileTooLargeError) as exc:
        assert exc.field == "image" and exc.message


@given(st.binary(max_size=4096))
def test_arbitrary_bytes_are_refused_as_an_image_error(data):
    _refused_or_read(data)


@given(st.sampled_from([PNG_SIGNATURE, JPEG_START, WEBP_START]), st.binary(max_size=2048))
@example(PNG_SIGNATURE, b"\x00\x00\x00\rIHDR\xff\xff\xff\xff\xff\xff\xff\xff\x08\x06\x00\x00\x00")
def test_bytes_that_start_like_a_picture_are_refused_as_an_image_error(start, rest):
    _refused_or_read(start + rest)


@given(st.data())
def test_a_real_picture_cut_or_corrupted_anywhere_is_read_or_refused(data):
    png = qr_png("00020101021126")
    index = data.draw(st.integers(0, len(png) - 1))
    damaged = data.draw(st.sampled_from([png[:index], png[:index] + b"\x00" + png[index + 1 :]]))
    _refused_or_read(damaged)


def test_the_text_of_a_picture_is_read_back():
    assert scan.qr_text(qr_png("hello QRIS")) == "hello QRIS"


@given(st.text(max_size=200))
def test_any_text_as_base64_is_decoded_or_refused_as_an_image_error(text):
    try:
        scan.image_bytes(text)
    except InvalidImageError as exc:
        assert exc.field == "image"


def test_a_data_url_prefix_and_line_breaks_are_allowed():
    encoded = base64.encodebytes(b"picture bytes").decode()

    assert scan.image_bytes("data:image/png;base64," + encoded) == b"picture bytes"
