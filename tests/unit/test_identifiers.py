"""Unit tests for portal.identity.identifiers."""

from __future__ import annotations

import pytest

from portal.identity.identifiers import (
    id_kind,
    is_valid_landline,
    is_valid_mobile,
    is_valid_national_id,
    mask_national_id,
    normalize_mobile,
    normalize_national_id,
)

# Literals below were checked against an independent implementation of the checksum;
# several are the published test vectors of enylin/taiwan-id-validator.
NATIONAL_IDS = [
    "A123456789",
    "A100000001",
    "F131104093",
    "O158238845",
    "N116247806",
    "L122544270",
    "C180661564",
    "Y123456788",
    "B223456782",  # female
    "I123456781",  # I maps to 34, not 18: catches alphabetical-table bugs
    "I234567895",
    "Z287654326",
    "W187654323",
]
RESIDENT_OLD_IDS = [
    "AA00000009",
    "AB00000001",
    "AB00207171",
    "AC00000003",
    "AC01234567",
    "AC03095424",
    "AD00000005",
    "AD30196818",
    "BD01300667",
    "CC00151114",
    "HD02717288",
    "TD00251124",
]
RESIDENT_NEW_IDS = [
    "A800000005",
    "A800000014",
    "A900000007",
    "A900207177",
    "A803095426",
    "A930196810",
    "B801300667",
    "C800151116",
    "H802717288",
    "T900251126",
    "K987654328",
    "Z876543216",
]


@pytest.mark.parametrize("value", NATIONAL_IDS)
def test_national_ids_are_valid(value: str) -> None:
    assert is_valid_national_id(value)
    assert id_kind(value) == "national"


@pytest.mark.parametrize("value", RESIDENT_OLD_IDS)
def test_old_resident_ids_are_valid(value: str) -> None:
    assert is_valid_national_id(value)
    assert id_kind(value) == "resident_old"


@pytest.mark.parametrize("value", RESIDENT_NEW_IDS)
def test_new_resident_ids_are_valid(value: str) -> None:
    assert is_valid_national_id(value)
    assert id_kind(value) == "resident_new"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("a123456789", "national"),
        ("  A123456789\n", "national"),
        ("\u3000A123456789\u3000", "national"),  # ideographic space from CJK IMEs
        ("ac01234567", "resident_old"),
        ("aC01234567", "resident_old"),
        ("a800000014", "resident_new"),
    ],
)
def test_case_and_whitespace_are_normalised(value: str, kind: str) -> None:
    assert id_kind(value) == kind
    assert is_valid_national_id(value)


@pytest.mark.parametrize(
    "value",
    [
        # Wrong check digit.
        "A123456788",
        "A123456780",
        "F131104091",
        "O158238842",
        "AA00000000",
        "AC01234568",
        "A800000015",
        "A800000000",
        "F931104091",
        # Checksum would be right but the second character is not an allowed sex code.
        "A323456783",
        "A723456781",
        "A023456787",
        "AE00000007",
        "AF12345675",
        "AZ12345671",
        # Length and shape.
        "",
        "   ",
        "A12345678",
        "A1234567890",
        "A123456789A",
        "1123456789",
        "AA0000000",
        "AA000000099",
        "A12345678 9",
        "A12345-6789",
        # Non-ASCII look-alikes.
        "A１23456789",  # full-width digit one
        "Ａ123456789",  # full-width letter A
        "A١23456789",  # Arabic-Indic digit one
        "ı123456781",  # dotless i upper-cases to I, which would otherwise pass
    ],
)
def test_invalid_ids_are_rejected(value: str) -> None:
    assert not is_valid_national_id(value)
    assert id_kind(value) is None


def test_normalize_strips_and_upper_cases() -> None:
    assert normalize_national_id("  a123456789 ") == "A123456789"
    assert normalize_national_id("ac01234567") == "AC01234567"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("A123456789", "A12345****"),
        (" a123456789 ", "A12345****"),
        ("AC01234567", "AC0123****"),
        ("A800000014", "A80000****"),
    ],
)
def test_mask_national_id(value: str, masked: str) -> None:
    assert mask_national_id(value) == masked


@pytest.mark.parametrize(
    "value",
    [
        "02-12345678",
        "02-23456789",
        "02-12345678#1",
        "02-12345678#123456",
        "03-1234567",
        "04-22345678",
        "049-2345678",
        "037-123456",
        "089-345678",
        "0826-12345",
        "0836-123456",
        " 07-1234567 ",
    ],
)
def test_valid_landlines(value: str) -> None:
    assert is_valid_landline(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "0212345678",  # hyphen is required by the design
        "02 12345678",
        "02-1234-5678",
        "2-12345678",  # no trunk 0
        "00-12345678",
        "09-12345678",  # 09 is the mobile prefix
        "0912-345678",
        "02-1234",  # subscriber too short
        "02-123456789",  # subscriber too long
        "02-123456",  # 8 digits in total: too short for Taiwan
        "049-23456789",  # 11 digits in total: too long
        "02-12345678#",
        "02-12345678#1234567",
        "02-12345678#12a",
        "02-12345678x123",
        "02-１2345678",
        "(02)12345678",
    ],
)
def test_invalid_landlines(value: str) -> None:
    assert not is_valid_landline(value)


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("0912-345678", "0912-345678"),
        ("0912345678", "0912-345678"),
        (" 0987654321 ", "0987-654321"),
    ],
)
def test_valid_mobiles_normalise_to_hyphenated(value: str, canonical: str) -> None:
    assert is_valid_mobile(value)
    assert normalize_mobile(value) == canonical


@pytest.mark.parametrize(
    "value",
    [
        "",
        "0812-345678",
        "912-345678",
        "091-2345678",
        "0912-34567",
        "0912-3456789",
        "091234567",
        "09123456789",
        "0912 345678",
        "+886912345678",
        "0912-３45678",
        "02-12345678",
    ],
)
def test_invalid_mobiles(value: str) -> None:
    assert not is_valid_mobile(value)
    with pytest.raises(ValueError):
        normalize_mobile(value)
