"""The QRIS module (SPEC §14) against codes published by others, with the fields and CRCs
their sources give, and against each way a code can be wrong.

Sources of the known vectors:
- CRC check value: the CRC RevEng catalogue, CRC-16/IBM-3740 (alias CRC-16/CCITT-FALSE):
  check = 0x29B1 over the ASCII bytes "123456789".
- EMVCO_SAMPLE: the sample payload of the EMVCo QR Code Specification for Payment Systems,
  Merchant-Presented Mode (EMVCo QRCPS-MPM v1.1), CRC A13A, with its Chinese tag 64; the same
  string is the known answer of many open-source EMVCo parsers' test suites.
- PIX_MANUAL: the example of Banco Central do Brasil's "Manual de Padrões para Iniciação do
  Pix" (an EMVCo MPM code without tag 01), CRC 1D3D.
- DANA_DYNAMIC: a dynamic DANA QRIS for the merchant XENDIT (NMID ID2021080732989, Rp 10.000),
  published as the fixture of an open-source TypeScript EMVCo/QRIS parser's test suite, CRC B00A.
- DANA_STATIC: a static DANA QRIS (NMID ID1026564075103), the default code of an open-source
  Python QRIS generator, CRC 8DC1.
- MISTERDEVS_README: the example of the misterdevs/qris-parser README, whose CRC "M2B3" is not
  hexadecimal: a code that must be refused.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from app import qris
from app.qris import tlv

EMVCO_SAMPLE = (
    "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678"
    "520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京"
    "540523.7253031565502016233030412340603***0708A60086670902ME9132"
    "0016A0112233449988770708123456786304A13A"
)
PIX_MANUAL = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
    "5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)
DANA_DYNAMIC = (
    "00020101021226570011ID.DANA.WWW011893600915015706056102091570605610303UME"
    "51440014ID.CO.QRIS.WWW0215ID20210807329890303UME520489315303360540510000"
    "5802ID5906XENDIT6015Kota Jakarta Se61051219062720115SzW8BPHhw35i1vT6049"
    "0011ID.DANA.WWW0425MER2021071400774509608641050116304B00A"
)
DANA_STATIC = (
    "00020101021126570011ID.DANA.WWW011893600915303379682702090337968270303UMI"
    "51440014ID.CO.QRIS.WWW0215ID10265640751030303UMI5204737253033605802ID"
    "5909BoonTrack6012Kab. Bandung61054028663048DC1"
)
MISTERDEVS_README = (
    "00020101021126610014COM.GO-JEK.WWW01189360091234285490450210G6285936550303UMI"
    "51440014ID.CO.QRIS.WWW0215ID10253801632580303UMI5204504553033605802ID"
    "5910Misterdevs6007JAKARTA61051234562070703A016304M2B3"
)


def refusal(text: str) -> qris.QrisError:
    with pytest.raises(qris.QrisError) as caught:
        qris.read(text)
    return caught.value


def with_crc(body: str) -> str:
    """`body` (ending before tag 63) with a correct tag 63."""
    return body + "6304" + qris.checksum(body + "6304")


# -- CRC ---------------------------------------------------------------------------------------


def test_the_crc_is_crc16_ccitt_false_by_its_check_value():
    assert qris.crc16(b"123456789") == 0x29B1
    assert qris.checksum("123456789") == "29B1"


@pytest.mark.parametrize(
    "code", [EMVCO_SAMPLE, PIX_MANUAL, DANA_DYNAMIC, DANA_STATIC], ids=lambda c: c[-4:]
)
def test_each_published_code_carries_the_crc_we_compute(code):
    assert qris.checksum(code[:-4]) == code[-4:]
    assert qris.read(code).crc == code[-4:]


# -- the published codes, field by field ---------------------------------------------------------


def test_the_emvco_sample_reads_with_its_templates_and_other_language():
    code = qris.read(EMVCO_SAMPLE)

    assert code.is_dynamic
    assert code.amount == Decimal("23.72")
    assert code.value("53") == "156"
    assert code.value("58") == "CN"
    assert code.value("59") == "BEST TRANSPORT"
    assert code.value("60") == "BEIJING"
    assert code.fee == "prompt"  # tag 55 = 01: the buyer is asked for a tip
    assert [(a.tag, a.gui) for a in code.merchant_accounts] == [
        ("29", "D15600000000"),
        ("31", "D15600000001"),
    ]
    language = next(f for f in code.fields if f.tag == "64")
    assert [(s.tag, s.value) for s in language.children] == [
        ("00", "ZH"),
        ("01", "最佳运输"),
        ("02", "北京"),
    ]
    additional = next(f for f in code.fields if f.tag == "62")
    assert [(s.tag, s.name, s.value) for s in additional.children] == [
        ("03", "Store label", "1234"),
        ("06", "Customer label", "***"),
        ("07", "Terminal label", "A6008667"),
        ("09", "Additional consumer data request", "ME"),
    ]
    # Its tags are not in ascending order (64 before 54): EMVCo allows that.
    assert [f.tag for f in code.fields][-1] == "63"


def test_the_pix_manual_example_is_static_without_tag_01():
    code = qris.read(PIX_MANUAL)

    assert not code.is_dynamic
    assert code.amount is None
    assert code.value("59") == "Fulano de Tal"
    assert code.value("60") == "BRASILIA"
    assert code.value("53") == "986"
    [account] = code.merchant_accounts
    assert (account.tag, account.gui) == ("26", "br.gov.bcb.pix")
    assert account.pan == "123e4567-e12b-12d1-a456-426655440000"
    assert code.nmid is None


def test_a_dynamic_dana_qris_gives_its_nmid_amount_and_accounts():
    code = qris.read(DANA_DYNAMIC)

    assert code.is_dynamic
    assert code.amount == 10000
    assert code.nmid == "ID2021080732989"
    assert code.value("61") == "12190"
    assert [(a.tag, a.gui, a.pan, a.id, a.criteria) for a in code.merchant_accounts] == [
        ("26", "ID.DANA.WWW", "936009150157060561", "157060561", "UME"),
        ("51", "ID.CO.QRIS.WWW", None, "ID2021080732989", "UME"),
    ]


def test_a_static_dana_qris_becomes_dynamic_with_tag_54_in_order_and_a_new_crc():
    code = qris.read(DANA_STATIC)
    assert not code.is_dynamic

    dynamic = qris.with_amount(code, 50000)

    # Built by hand from the static code: 01 becomes 12, 54 goes between 53 and 58.
    body = (
        DANA_STATIC[:-8]
        .replace("010211", "010212", 1)
        .replace("5303360", "5303360" + "540550000", 1)
    )
    assert dynamic.text == body + "6304" + qris.checksum(body + "6304")
    assert dynamic.is_dynamic and dynamic.amount == 50000
    assert dynamic.nmid == code.nmid


def test_converting_a_dynamic_code_replaces_its_amount():
    again = qris.with_amount(qris.read(DANA_DYNAMIC), 25000)

    assert again.amount == 25000
    assert again.text.count("5405") == 1
    assert "540525000" in again.text


def test_a_fixed_fee_and_a_percentage_fee_go_in_tags_55_to_57():
    code = qris.read(DANA_STATIC)

    fixed = qris.with_amount(code, 50000, qris.Fee(fixed=1500))
    percent = qris.with_amount(code, 50000, qris.Fee(percent=Decimal("1.50")))

    assert (fixed.value("55"), fixed.value("56"), fixed.value("57")) == ("02", "1500", None)
    assert fixed.fee == qris.Fee(fixed=1500)
    assert (percent.value("55"), percent.value("57"), percent.value("56")) == ("03", "1.5", None)
    # A new fee replaces the old one; no fee given keeps it.
    assert qris.with_amount(fixed, 50000, qris.Fee(percent=Decimal(2))).value("56") is None
    assert qris.with_amount(fixed, 60000).value("56") == "1500"


def test_a_lower_case_crc_is_accepted_and_reported_upper_case():
    code = qris.read(DANA_STATIC[:-4] + DANA_STATIC[-4:].lower())

    assert code.crc == "8DC1"


# -- refusals, each naming its tag --------------------------------------------------------------


def test_the_readme_code_with_a_crc_that_is_not_hex_is_refused_at_tag_63():
    error = refusal(MISTERDEVS_README)

    assert isinstance(error, qris.QrisChecksumError)
    assert error.tag == "63"


def test_a_wrong_crc_names_both_values():
    error = refusal(DANA_STATIC[:-4] + "0000")

    assert isinstance(error, qris.QrisChecksumError)
    assert "0000" in error.reason and "8DC1" in error.reason


@pytest.mark.parametrize(
    ("body", "tag", "words"),
    [
        ("000201010211" + "2611" + "0008ID.X.WW", "26", "says 8 characters but only 7"),
        ("000201" + "26xx", "26", "length must be two digits"),
        ("000201" + "5A04ABCD", None, "tag must be two digits"),
        ("000201" + "5200", "52", "empty value"),
        ("000201" + "59021A" + "59021B", "59", "appears twice"),
    ],
)
def test_a_broken_structure_is_a_format_error_naming_the_tag(body, tag, words):
    error = refusal(with_crc(body))

    assert isinstance(error, qris.QrisFormatError)
    assert error.tag == tag
    assert words in error.reason


def _code(changes: dict[str, str | None]) -> str:
    """DANA_STATIC with some tags changed (None: taken out), in its own order, CRC made anew."""
    fields = {field.tag: field.value for field in qris.read(DANA_STATIC).fields}
    del fields["63"]
    for tag, value in changes.items():
        if value is None:
            fields.pop(tag, None)
        else:
            fields[tag] = value
    return with_crc(tlv.encode(tlv.DataObject(tag, value) for tag, value in fields.items()))


@pytest.mark.parametrize("tag", ["00", "52", "53", "58", "59", "60"])
def test_each_required_tag_missing_is_refused_by_name(tag):
    error = refusal(_code({tag: None}))

    assert isinstance(error, qris.QrisFieldError)
    assert error.tag == tag
    assert "missing" in error.reason or "first" in error.reason


@pytest.mark.parametrize(
    ("tag", "value"),
    [
        ("54", "50.000"),  # a thousands separator, not Rp 50
        ("54", "50000.5"),
        ("54", "1,5"),
        ("54", "0"),
        ("54", "100.50"),  # rupiah are whole
        ("52", "73A2"),
        ("53", "IDR"),
        ("58", "id"),
        ("01", "13"),
        ("00", "02"),
        ("55", "04"),
        ("56", "1000"),  # a fixed fee without tag 55 = 02
    ],
)
def test_a_field_breaking_its_rule_is_refused_by_its_tag(tag, value):
    error = refusal(_code({tag: value}))

    assert isinstance(error, qris.QrisFieldError)
    assert error.tag == tag


def test_a_broken_template_is_refused_by_the_template_tag():
    body = DANA_STATIC[:-8].replace("0303UMI5204", "0399UMI5204", 1)  # inside tag 51
    error = refusal(with_crc(body))

    assert error.tag == "51"
    assert "sub-tag 03" in error.reason


def test_a_merchant_account_without_its_identifier_is_refused():
    error = refusal(_code({"26": "0118936009153033796827"}))

    assert error.tag == "26"
    assert "globally unique identifier" in error.reason


def test_a_code_without_any_merchant_account_is_refused():
    error = refusal(_code({"26": None, "51": None}))

    assert isinstance(error, qris.QrisFieldError)
    assert "merchant account" in error.reason


def test_tag_00_must_come_first_and_63_last():
    second = refusal(with_crc("010211000201" + DANA_STATIC[12:-8]))
    assert (second.tag, "first" in second.reason) == ("00", True)

    # "6304…" swallowed as the value of a tag 65 that says 8 characters: the CRC holds, but
    # the last data object is not tag 63.
    swallowed = refusal(with_crc(DANA_STATIC[:-8] + "6508"))
    assert (swallowed.tag, "last" in swallowed.reason) == ("63", True)
    assert refusal(with_crc(DANA_STATIC + "6502AB")).tag == "63"  # tag 63 twice


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("0" * 513, "at most 512"),
        (DANA_STATIC[:20] + "\n" + DANA_STATIC[21:], "control character"),
        (DANA_STATIC[:20] + "\ud800" + DANA_STATIC[21:], "control character"),
    ],
)
def test_text_no_qr_code_carries_is_refused_before_anything_else(text, words):
    error = refusal(text)

    assert isinstance(error, qris.QrisFormatError)
    assert words in error.reason


def test_a_foreign_code_cannot_be_given_a_rupiah_amount():
    with pytest.raises(qris.QrisFieldError) as caught:
        qris.with_amount(qris.read(PIX_MANUAL), 50000)

    assert caught.value.tag == "53"


@pytest.mark.parametrize("amount", [0, -5, 1_000_000_000_000, True])
def test_an_amount_out_of_range_is_refused_at_tag_54(amount):
    with pytest.raises(qris.QrisFieldError) as caught:
        qris.with_amount(qris.read(DANA_STATIC), amount)

    assert caught.value.tag == "54"


@pytest.mark.parametrize(
    ("fee", "tag"),
    [
        (qris.Fee(fixed=0), "56"),
        (qris.Fee(percent=Decimal(0)), "57"),
        (qris.Fee(percent=Decimal("100.5")), "57"),
        (qris.Fee(percent=Decimal("1.12345")), "57"),
        (qris.Fee(fixed=1, percent=Decimal(1)), "55"),
        (qris.Fee(), "55"),
    ],
)
def test_a_fee_out_of_range_is_refused_at_its_tag(fee, tag):
    with pytest.raises(qris.QrisFieldError) as caught:
        qris.with_amount(qris.read(DANA_STATIC), 50000, fee)

    assert caught.value.tag == tag
