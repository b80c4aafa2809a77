"""Properties of the QRIS module over codes hypothesis makes up: what is built reads back the
same; one changed character is always caught, by the CRC; converting twice for the same amount
gives the same text; and no text, however hostile, gets anything out of the reader but a code
or its own error, in time linear in its length."""

from __future__ import annotations

import contextlib
import time

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from app import qris
from app.qris import tlv
from app.qris.code import build
from app.qris.tlv import DataObject

PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
DIGITS = st.characters(min_codepoint=ord("0"), max_codepoint=ord("9"))
HEX = set("0123456789abcdefABCDEF")


def text(min_size: int = 1, max_size: int = 20, alphabet=PRINTABLE):
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)


@st.composite
def template(draw, first: str) -> str:
    """A template's value: sub-tag 00 (`first`) and a few more sub-tags."""
    tags = draw(st.lists(st.integers(1, 99), max_size=3, unique=True))
    subs = [DataObject("00", first)] + [
        DataObject(f"{tag:02d}", draw(text(max_size=12))) for tag in sorted(tags)
    ]
    return tlv.encode(subs)


@st.composite
def codes(draw) -> list[DataObject]:
    """The data objects of a valid rupiah code, tag 63 left out."""
    objects = [DataObject("00", "01")]
    initiation = draw(st.sampled_from([None, "11", "12"]))
    if initiation:
        objects.append(DataObject("01", initiation))
    for tag in sorted(draw(st.lists(st.integers(26, 51), min_size=1, max_size=3, unique=True))):
        gui = draw(text(min_size=4, max_size=16))
        objects.append(DataObject(f"{tag}", draw(template(gui))))
    objects += [
        DataObject("52", draw(text(4, 4, DIGITS))),
        DataObject("53", "360"),
    ]
    if draw(st.booleans()):
        objects.append(DataObject("54", str(draw(st.integers(1, qris.MAX_AMOUNT)))))
    objects += [
        DataObject("58", draw(st.sampled_from(["ID", "SG", "MY"]))),
        DataObject("59", draw(text(max_size=25))),
        DataObject("60", draw(text(max_size=15))),
    ]
    if draw(st.booleans()):
        objects.append(DataObject("61", draw(text(5, 5, DIGITS))))
    if draw(st.booleans()):
        objects.append(DataObject("62", draw(template(draw(text(max_size=8))))))
    return objects


def fields_of(code: qris.QrisCode) -> list[tuple[str, str, list[tuple[str, str]]]]:
    return [(f.tag, f.value, [(s.tag, s.value) for s in f.children]) for f in code.fields]


@given(codes())
def test_what_is_built_reads_back_field_for_field(objects):
    code = qris.read(build(objects))

    read_back = [(f.tag, f.value) for f in code.fields]
    assert read_back[:-1] == [(each.tag, each.value) for each in objects]
    assert read_back[-1] == ("63", qris.checksum(code.text[:-4]))
    for field, each in zip(code.fields, objects, strict=False):
        if field.children:  # a template: its objects are its value again
            assert tlv.encode(DataObject(s.tag, s.value) for s in field.children) == each.value


@given(codes(), st.data())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_any_single_changed_character_is_caught_by_the_crc(objects, data):
    original = build(objects)
    index = data.draw(st.integers(0, len(original) - 1))
    replacement = data.draw(PRINTABLE.filter(lambda char: char != original[index]))
    in_crc_value = index >= len(original) - 4
    # The CRC's hex digits may come in either case: "8dc1" is the CRC 8DC1.
    assume(not (in_crc_value and replacement in HEX and replacement.upper() == original[index]))
    changed = original[:index] + replacement + original[index + 1 :]

    try:
        qris.read(changed)
    except qris.QrisChecksumError as exc:
        assert exc.tag == "63"
    else:
        raise AssertionError(f"a change at character {index + 1} went unnoticed: {changed!r}")


@given(codes(), st.integers(1, qris.MAX_AMOUNT), st.integers(1, qris.MAX_AMOUNT))
def test_converting_is_idempotent_for_the_same_amount(objects, amount, other):
    code = qris.read(build(objects))

    once = qris.with_amount(code, amount)

    assert qris.with_amount(once, amount).text == once.text
    assert qris.with_amount(qris.with_amount(code, other), amount).text == once.text
    assert once.is_dynamic and once.amount == amount
    tags = [field.tag for field in once.fields]
    assert tags == sorted(tags[:-1]) + ["63"]


def _reads_or_refuses(candidate: str) -> None:
    try:
        qris.read(candidate)
    except qris.QrisError as exc:
        assert exc.tag is None or (len(exc.tag) == 2 and exc.tag.isdigit())
        assert exc.reason


@given(st.text(max_size=600))
@example("6304")
@example("0000" * 128)
@example("00020101021126" + "99" * 60)
def test_no_text_gets_anything_but_a_code_or_a_qris_error(candidate):
    _reads_or_refuses(candidate)


@given(codes(), st.data())
def test_a_valid_code_cut_or_spliced_anywhere_is_refused_with_a_qris_error(objects, data):
    original = build(objects)
    start = data.draw(st.integers(0, len(original)))
    end = data.draw(st.integers(start, len(original)))
    insert = data.draw(st.text(alphabet=st.sampled_from("0123456789ABCDEF63"), max_size=12))
    _reads_or_refuses(original[:start] + insert + original[end:])


@given(st.text(alphabet=st.sampled_from("0123456789"), min_size=4, max_size=2000))
def test_the_tlv_reader_takes_any_digits_without_raising_anything_else(candidate):
    with contextlib.suppress(qris.QrisFormatError):
        tlv.parse(candidate)


def test_reading_takes_time_linear_in_the_length():
    """A generous guard against accidental quadratic work: the reader's cost per character
    at 200 000 characters is within ten times its cost at 20 000 (quadratic work would be
    a hundred times). tlv.parse sees no 512-character cap, so it is the one measured."""

    def per_char(size: int) -> float:
        # Forty distinct tags each holding long values, then garbage: the worst the reader
        # meets before it must stop (a repeated tag ends any longer walk).
        value_size = size // 40
        hostile = "".join(f"{tag:02d}99" + "9" * 99 for tag in range(40)) * (value_size // 103 + 1)
        started = time.perf_counter()
        for _ in range(5):
            with contextlib.suppress(qris.QrisFormatError):
                tlv.parse(hostile[:size])
            with contextlib.suppress(qris.QrisError):
                qris.read(hostile[:size])
        return (time.perf_counter() - started) / size

    per_char(20_000)  # warm up
    assert per_char(200_000) < 10 * per_char(20_000) + 1e-7
