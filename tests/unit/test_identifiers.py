"""Unit tests for portal.identity.identifiers."""

from __future__ import annotations

import pytest

from portal.identity.identifiers import (
    PhoneNumberError,
    id_kind,
    is_valid_national_id,
    mask_national_id,
    normalize_landline,
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


# The agency's own contact list, clerks' habits, and what IMEs type: all one stored form.
LANDLINES = [
    ("(02)2522-0878", "02-25220878"),
    ("(02)2559-1971#4", "02-25591971#4"),
    ("02-2522-0878", "02-25220878"),
    ("02-25220878 分機 123", "02-25220878#123"),
    ("02-25220878分機123", "02-25220878#123"),
    ("02-25220878 轉 123", "02-25220878#123"),
    ("02-25220878（分機 12）", "02-25220878#12"),
    ("02 2522 0878 ext. 5", "02-25220878#5"),
    ("02 2522 0878 EXT 5", "02-25220878#5"),
    ("02-25220878 x123", "02-25220878#123"),
    ("02-25220878 #123", "02-25220878#123"),
    ("０２－２５２２０８７８", "02-25220878"),
    ("（０２）２５５９－１９７１＃４", "02-25591971#4"),
    ("02—2522—0878", "02-25220878"),  # an em dash from a word processor
    ("0225220878", "02-25220878"),
    ("02.2522.0878", "02-25220878"),
    ("02/2522 0878", "02-25220878"),
    ("+886-2-2522-0878", "02-25220878"),
    ("+886 (0)2 2522 0878", "02-25220878"),
    ("886-2-25220878#9", "02-25220878#9"),
    ("  02-12345678#123456 ", "02-12345678#123456"),
    ("02-12345678", "02-12345678"),  # the stored form stays as it is
    ("03-1234567", "03-1234567"),
    ("04-22345678", "04-22345678"),  # 臺中: 8 digits
    ("04-7123456", "04-7123456"),  # 彰化: 7 digits
    ("049-2345678", "049-2345678"),
    ("(049)234-5678", "049-2345678"),
    ("0492345678", "049-2345678"),  # 049 is 南投, never 04 followed by a 9
    ("037-123456", "037-123456"),
    ("03-7123456", "037-123456"),  # the same digits dial 苗栗
    ("089-345678", "089-345678"),
    ("082-312345", "082-312345"),
    ("0826-12345", "0826-12345"),
    ("0836-123456", "0836-123456"),
    ("07-1234567", "07-1234567"),
    ("08-7123456", "08-7123456"),
]


@pytest.mark.parametrize(("value", "stored"), LANDLINES)
def test_landlines_as_people_write_them(value: str, stored: str) -> None:
    assert normalize_landline(value) == stored
    assert normalize_landline(stored) == stored  # reading the stored form changes nothing


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "characters"),
        ("   ", "characters"),
        ("02-2522-0878 請找陳小姐", "characters"),
        ("02-１2345678a", "characters"),
        ("02-١2345678", "characters"),  # Arabic-Indic digit: not one NFKC makes ASCII
        ("25220878", "no_area_code"),
        ("2522-0878#12", "no_area_code"),
        ("+1 212 555 0100", "no_area_code"),
        ("00-12345678", "unknown_area_code"),
        ("01-2345678", "unknown_area_code"),
        ("0912-345678", "mobile"),
        ("09-12345678", "mobile"),
        ("+886 912 345 678", "mobile"),
        ("02-1234", "length"),
        ("02-123456789", "length"),
        ("02-2522087", "length"),  # one digit short for 臺北
        ("049-23456789", "length"),
        ("03-12345678", "length"),
        ("037-1234567", "length"),
        ("04-123456", "length"),
        ("02-12345678#", "extension"),
        ("02-12345678#1234567", "extension"),
        ("02-12345678#12a", "extension"),
        ("02-12345678 分機", "extension"),
        ("02-12345678#1#2", "extension"),
    ],
)
def test_landlines_that_cannot_be_read_say_why(value: str, reason: str) -> None:
    with pytest.raises(PhoneNumberError) as raised:
        normalize_landline(value)
    assert raised.value.reason == reason


def test_a_landline_too_short_names_its_area_code() -> None:
    with pytest.raises(PhoneNumberError) as raised:
        normalize_landline("(02)2522-087")
    assert raised.value.area_code == "02"


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("0912345678", "0912-345678"),
        ("0912-345678", "0912-345678"),
        ("0912 345 678", "0912-345678"),
        ("0912-345-678", "0912-345678"),
        ("0912 345678", "0912-345678"),
        ("091-2345678", "0912-345678"),
        ("+886 912 345 678", "0912-345678"),
        ("+886-912-345678", "0912-345678"),
        ("+886912345678", "0912-345678"),
        ("886 912 345 678", "0912-345678"),
        ("+886 (0)912 345 678", "0912-345678"),
        ("０９１２－３４５６７８", "0912-345678"),
        ("0912-３45678", "0912-345678"),
        (" 0987654321 ", "0987-654321"),
    ],
)
def test_mobiles_as_people_write_them(value: str, stored: str) -> None:
    assert normalize_mobile(value) == stored


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "characters"),
        ("0912-345678 陳", "characters"),
        ("0912-345678#1", "characters"),
        ("0812-345678", "not_mobile"),
        ("912-345678", "not_mobile"),
        ("02-12345678", "not_mobile"),
        ("+1 912 345 678", "no_area_code"),
        ("0912-34567", "length"),
        ("0912-3456789", "length"),
        ("091234567", "length"),
        ("09123456789", "length"),
    ],
)
def test_mobiles_that_cannot_be_read_say_why(value: str, reason: str) -> None:
    with pytest.raises(PhoneNumberError) as raised:
        normalize_mobile(value)
    assert raised.value.reason == reason
