"""Midtrans notification signatures (midtrans.md §3 "Signature key"): SHA-512 over the raw
strings order_id + status_code + gross_amount + server_key, compared in constant time."""

from __future__ import annotations

import pytest

from app.midtrans.signature import compute_signature, signature_matches

# The worked example of midtrans.md §3 (Midtrans's handle-notifications PHP snippet).
ORDER_ID = "1111"
STATUS_CODE = "200"
GROSS_AMOUNT = "100000.00"
SERVER_KEY = "askvnoibnosifnboseofinbofinfgbiufglnbfg"
EXPECTED = (
    "edc076b21793ebe3e17926350f5b8ae67d902fe657b3d0aa31b932d5c127e237"
    "5d308a2bc94f3265ac2d80a1f181a79b997ac178a236fcff35af263fc4d4c231"
)

# The negative vectors of midtrans.md §3: one input changed, a different hash.
NEGATIVE_VECTORS = [
    pytest.param(
        "1111",
        "200",
        "100000",
        "5f363520e86c10c2ea14074cd09dc1d67299633558abe291ded95a16908f9ec5"
        "071e982c289c3333bcbcfe62dd8e78ae4c3d3bd92191707ba2e91f7169d8411a",
        id="gross_amount-without-decimals",
    ),
    pytest.param(
        "1111",
        "202",
        "100000.00",
        "536c7c8e8132afb22bddc0abdfb548da47d2ab4de77be5deb8589c71ab9fb314"
        "7a430defcc410fb185f959192da94612ceb407631db533693efb76cf4458539c",
        id="status_code-202",
    ),
    pytest.param(
        "1111",
        "201",
        "100000.00",
        "64fd21fc255a4b87a79d8ae0921d78c916073e5cad6b4d5ce848755d2ab85d1a"
        "94ead5a431e37adc29cd87a73d09dc4cd03ce2fbdd4c801ac4f2fab3ea19722d",
        id="status_code-201",
    ),
]


def test_computes_the_documented_worked_example():
    assert compute_signature(ORDER_ID, STATUS_CODE, GROSS_AMOUNT, SERVER_KEY) == EXPECTED


def test_accepts_the_documented_worked_example():
    assert signature_matches(EXPECTED, ORDER_ID, STATUS_CODE, GROSS_AMOUNT, SERVER_KEY)


@pytest.mark.parametrize(("order_id", "status_code", "gross_amount", "expected"), NEGATIVE_VECTORS)
def test_computes_each_negative_vector(order_id, status_code, gross_amount, expected):
    assert compute_signature(order_id, status_code, gross_amount, SERVER_KEY) == expected


@pytest.mark.parametrize(("order_id", "status_code", "gross_amount", "expected"), NEGATIVE_VECTORS)
def test_the_worked_example_signature_does_not_fit_a_changed_input(
    order_id, status_code, gross_amount, expected
):
    # given the signature Midtrans made for the original inputs
    # when one of the signed strings arrives different (e.g. gross_amount re-formatted)
    # then the signature no longer matches
    assert not signature_matches(EXPECTED, order_id, status_code, gross_amount, SERVER_KEY)


@pytest.mark.parametrize(("order_id", "status_code", "gross_amount", "expected"), NEGATIVE_VECTORS)
def test_a_negative_vector_signature_matches_its_own_inputs(
    order_id, status_code, gross_amount, expected
):
    assert signature_matches(expected, order_id, status_code, gross_amount, SERVER_KEY)


def test_accepts_uppercase_hex():
    assert signature_matches(EXPECTED.upper(), ORDER_ID, STATUS_CODE, GROSS_AMOUNT, SERVER_KEY)


def test_rejects_a_signature_made_with_another_server_key():
    other = compute_signature(ORDER_ID, STATUS_CODE, GROSS_AMOUNT, "SB-Mid-server-someone-else")
    assert not signature_matches(other, ORDER_ID, STATUS_CODE, GROSS_AMOUNT, SERVER_KEY)


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("", id="empty"),
        pytest.param(EXPECTED[:-1], id="truncated-by-one"),
        pytest.param(EXPECTED[:64], id="truncated-to-half"),
        pytest.param(EXPECTED + "0", id="one-character-too-long"),
        pytest.param(EXPECTED[:-1] + "0", id="last-character-changed"),
        pytest.param("0" * 128, id="all-zeros"),
        pytest.param(EXPECTED[:-1] + "ǿ", id="non-hex-character"),
        pytest.param("null", id="not-a-hash"),
    ],
)
def test_rejects_a_wrong_signature(signature):
    assert not signature_matches(signature, ORDER_ID, STATUS_CODE, GROSS_AMOUNT, SERVER_KEY)
