"""Validation and normalisation of Taiwanese personal identifiers and phone numbers.

Pure functions only (no Flask imports) so the rules can be unit-tested in isolation
and reused by forms, importers and API handlers alike.

Phone numbers are read the way people write them (``(02)2522-0878#4``,
``02-25220878 分機 123``, ``０２－２５２２０８７８``, ``+886 912 345 678``) and kept in one
form: ``02-25220878#123`` for a landline, ``0912-345678`` for a mobile.

Identifier formats handled by :func:`id_kind`:

* ``national``: 國民身分證統一編號, letter + ``1``/``2`` (sex) + 8 digits.
* ``resident_old``: 統一證號 issued before 2021, letter + ``A``-``D`` + 8 digits.
  The National Immigration Agency stops accepting it after 2031-01-01 (民國120年),
  so it must still validate until then.
* ``resident_new``: 新式統一證號 issued since 2021-01-02, letter + ``8``/``9`` + 8 digits.

All three share one checksum: the first letter becomes two digits via the area-code
table, the second character becomes one digit, and the 11 resulting digits are
weighted 1,9,8,7,6,5,4,3,2,1,1; the sum must be a multiple of 10.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, Literal

IdKind = Literal["national", "resident_old", "resident_new"]

# Area letter -> two-digit code. The codes are not alphabetical (I, O, W, Z were
# added later and got 30-35), so an explicit table is the only safe encoding.
_LETTER_CODES: Final[dict[str, int]] = {
    "A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15, "G": 16, "H": 17,
    "I": 34, "J": 18, "K": 19, "L": 20, "M": 21, "N": 22, "O": 35, "P": 23,
    "Q": 24, "R": 25, "S": 26, "T": 27, "U": 28, "V": 29, "W": 32, "X": 30,
    "Y": 31, "Z": 33,
}  # fmt: skip

# Weights for: letter tens digit, letter units digit, second char, 7 serial digits, check digit.
_WEIGHTS: Final[tuple[int, ...]] = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)

# [0-9] rather than \d: Python's \d also matches full-width and other Unicode digits,
# so "A１２３..." would pass here yet be rejected by every downstream system.
_NATIONAL_RE: Final = re.compile(r"[A-Z][12][0-9]{8}")
_RESIDENT_NEW_RE: Final = re.compile(r"[A-Z][89][0-9]{8}")
_RESIDENT_OLD_RE: Final = re.compile(r"[A-Z][A-D][0-9]{8}")

_MASK_VISIBLE: Final = 6
_MASK: Final = "****"


def normalize_national_id(value: str) -> str:
    """Return an identifier with surrounding whitespace removed and letters upper-cased."""
    return value.strip().upper()


def _weighted_sum(letter: str, second_digit: int, rest: str) -> int:
    """Return the checksum sum for an area letter, a second-position digit and 8 digits."""
    code = _LETTER_CODES[letter]
    digits = (code // 10, code % 10, second_digit, *(int(ch) for ch in rest))
    return sum(weight * digit for weight, digit in zip(_WEIGHTS, digits, strict=True))


def _checksum_ok(value: str) -> bool:
    """Return True if a format-checked, upper-case 10-character identifier has a valid checksum."""
    second = value[1]
    # Old 統一證號: the second letter is converted with the same area-code table and
    # only the units digit is used (A=10 -> 0, B=11 -> 1, C=12 -> 2, D=13 -> 3).
    # Rule as implemented by the widely used enylin/taiwan-id-validator
    # (src/nin-arc/index.ts, RESIDENT_CERTIFICATE_NUMBER_LIST) and its published
    # test vectors, e.g. AA00000009, AC03095424, BD01300667.
    second_digit = _LETTER_CODES[second] % 10 if second.isalpha() else int(second)
    return _weighted_sum(value[0], second_digit, value[2:]) % 10 == 0


def id_kind(value: str) -> IdKind | None:
    """Return which kind of valid Taiwanese identifier ``value`` is, or None if invalid."""
    stripped = value.strip()
    # Reject non-ASCII before upper-casing: str.upper() maps e.g. the dotless 'ı' to 'I'
    # and full-width 'ａ' to 'Ａ', so the check must happen on what the user typed.
    if not stripped.isascii():
        return None
    candidate = stripped.upper()
    kind: IdKind
    if _NATIONAL_RE.fullmatch(candidate):
        kind = "national"
    elif _RESIDENT_NEW_RE.fullmatch(candidate):
        kind = "resident_new"
    elif _RESIDENT_OLD_RE.fullmatch(candidate):
        kind = "resident_old"
    else:
        return None
    return kind if _checksum_ok(candidate) else None


def is_valid_national_id(value: str) -> bool:
    """Return True for a valid 身分證字號 or old/new 居留證 統一證號 (case-insensitive)."""
    return id_kind(value) is not None


def mask_national_id(value: str) -> str:
    """Return the normalised identifier with everything after the 6th character masked."""
    # Always exactly four asterisks so the masked form never reveals the real length.
    return normalize_national_id(value)[:_MASK_VISIBLE] + _MASK


class PhoneNumberError(ValueError):
    """A phone number that cannot be read; ``reason`` says why, for the message shown.

    Reasons: ``characters`` (something other than digits, separators and an extension),
    ``no_area_code``, ``unknown_area_code``, ``mobile`` (a mobile number where a landline
    is asked for), ``length`` (too few or too many digits for the area code, or for a
    mobile), ``extension``, ``not_mobile``.
    """

    def __init__(self, reason: str, area_code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.area_code = area_code


# Taiwan's area codes and how many digits follow each one. A number is split by the
# longest code it starts with, whatever grouping the person typed: 049 is 南投, never 04
# (台中 and 彰化 numbers never start with 9), and likewise 037, 082, 0826, 0836 and 089.
LANDLINE_AREA_CODES: Final[dict[str, tuple[int, ...]]] = {
    "02": (8,),  # 臺北、新北、基隆
    "03": (7,),  # 桃園、新竹、宜蘭、花蓮
    "037": (6,),  # 苗栗
    "04": (7, 8),  # 彰化 (7), 臺中 (8)
    "049": (7,),  # 南投
    "05": (7,),  # 嘉義、雲林
    "06": (7,),  # 臺南、澎湖
    "07": (7,),  # 高雄
    "08": (7,),  # 屏東
    "082": (6,),  # 金門
    "0826": (5,),  # 烏坵
    "0836": (6,),  # 馬祖
    "089": (6,),  # 臺東
}
_EXTENSION_DIGITS: Final = re.compile(r"[0-9]{1,6}")
# What may separate an extension from the number: #, 分機, 轉, ext., x (after NFKC, so the
# full-width ＃ and ｅｘｔ are these too).
_EXTENSION_MARK: Final = re.compile(r"\s*(?:#|分機|轉|ext(?:ension)?\.?|x)\s*:?\s*", re.I)
# Digits with the separators people put between them; + only in front, for +886.
_NUMBER_PART: Final = re.compile(r"\+?[0-9 ()./-]*")
# Dashes that NFKC leaves alone but that IMEs and word processors put in numbers.
_DASHES: Final = str.maketrans(
    dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc", "-")
)
_COUNTRY_CODE: Final = "886"


def normalize_landline(value: str) -> str:
    """Return a landline as ``02-25220878`` or ``02-25220878#123``; raise PhoneNumberError."""
    main, extension = _split_extension(_plain(value))
    digits = _national_digits(main)
    if digits.startswith("09"):
        raise PhoneNumberError("mobile")
    if not digits.startswith("0"):
        raise PhoneNumberError("no_area_code")
    area = max(
        (code for code in LANDLINE_AREA_CODES if digits.startswith(code)), key=len, default=None
    )
    if area is None:
        raise PhoneNumberError("unknown_area_code")
    subscriber = digits[len(area) :]
    if len(subscriber) not in LANDLINE_AREA_CODES[area]:
        raise PhoneNumberError("length", area_code=area)
    return f"{area}-{subscriber}" + (f"#{extension}" if extension is not None else "")


def normalize_mobile(value: str) -> str:
    """Return a mobile number as ``0912-345678``; raise PhoneNumberError."""
    digits = _national_digits(_plain(value))
    if not digits.startswith("09"):
        raise PhoneNumberError("not_mobile")
    if len(digits) != 10:
        raise PhoneNumberError("length")
    return f"{digits[:4]}-{digits[4:]}"


def _plain(value: str) -> str:
    """Full-width digits and signs made ASCII, every kind of dash a hyphen, ends trimmed."""
    return unicodedata.normalize("NFKC", value).translate(_DASHES).strip()


def _split_extension(text: str) -> tuple[str, str | None]:
    """The number and its extension (None if there is none) from ``02-2522-0878 分機 12``."""
    parts = _EXTENSION_MARK.split(text, maxsplit=1)
    if len(parts) == 1:
        return text, None
    main, extension = parts
    # "02-25220878（分機 12）": the brackets belong to the extension, not the number.
    if main.endswith("("):
        main, extension = main[:-1], extension.removesuffix(")")
    extension = extension.strip()
    if not _EXTENSION_DIGITS.fullmatch(extension):
        raise PhoneNumberError("extension")
    return main.strip(), extension


def _national_digits(text: str) -> str:
    """The digits of a number as dialled within Taiwan: +886 becomes the trunk 0."""
    if not text or not _NUMBER_PART.fullmatch(text):
        raise PhoneNumberError("characters")
    digits = re.sub(r"[^0-9]", "", text)
    if text.startswith("+") and not digits.startswith(_COUNTRY_CODE):
        raise PhoneNumberError("no_area_code")  # a number abroad
    if digits.startswith(_COUNTRY_CODE):
        # "+886 2 2522 0878" and "+886 (0)2 2522 0878" alike.
        rest = digits[len(_COUNTRY_CODE) :]
        digits = rest if rest.startswith("0") else "0" + rest
    return digits
