"""Validation and normalisation of Taiwanese personal identifiers and phone numbers.

Pure functions only (no Flask imports) so the rules can be unit-tested in isolation
and reused by forms, importers and API handlers alike.

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

# Area code: 2-4 digits, starts with 0 but 09 is the mobile prefix. Subscriber part is
# 5-8 digits; the optional extension follows '#', exactly as the design's
# "02-12345678#123456" example.
_LANDLINE_RE: Final = re.compile(r"(0[1-8][0-9]{0,2})-([0-9]{5,8})(?:#[0-9]{1,6})?")
# Taiwanese landline numbers are 9 or 10 digits long including the leading 0, whatever
# the split between area code and subscriber (02-xxxxxxxx, 049-xxxxxxx, 0826-xxxxx).
_LANDLINE_TOTAL_DIGITS: Final = range(9, 11)

_MOBILE_RE: Final = re.compile(r"(09[0-9]{2})-?([0-9]{6})")

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


def is_valid_landline(value: str) -> bool:
    """Return True for a landline such as ``02-12345678`` or ``049-2345678#123``."""
    match = _LANDLINE_RE.fullmatch(value.strip())
    if match is None:
        return False
    area, subscriber = match.groups()
    return len(area) + len(subscriber) in _LANDLINE_TOTAL_DIGITS


def is_valid_mobile(value: str) -> bool:
    """Return True for a mobile number ``09XX-XXXXXX`` or ``09XXXXXXXX``."""
    return _MOBILE_RE.fullmatch(value.strip()) is not None


def normalize_mobile(value: str) -> str:
    """Return ``value`` as ``09XX-XXXXXX``; raise ValueError if it is not a valid mobile."""
    match = _MOBILE_RE.fullmatch(value.strip())
    if match is None:
        raise ValueError("not a valid Taiwanese mobile number")
    prefix, subscriber = match.groups()
    return f"{prefix}-{subscriber}"
