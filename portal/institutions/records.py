"""Institution (醫事機構) record type and the controlled vocabularies it uses."""

from __future__ import annotations

from dataclasses import dataclass

# Order matters only for display: bigger hospitals first, then the rest.
KINDS: tuple[str, ...] = (
    "醫學中心",
    "區域醫院",
    "地區醫院",
    "診所",
    "衛生所",
    "衛生局",
    "藥局",
    "其他",
)

# Official 臺 spelling. Order follows the Ministry of the Interior's usual
# listing (special municipalities, provincial cities, then counties).
COUNTIES: tuple[str, ...] = (
    "臺北市",
    "新北市",
    "桃園市",
    "臺中市",
    "臺南市",
    "高雄市",
    "基隆市",
    "新竹市",
    "嘉義市",
    "新竹縣",
    "苗栗縣",
    "彰化縣",
    "南投縣",
    "雲林縣",
    "嘉義縣",
    "屏東縣",
    "宜蘭縣",
    "花蓮縣",
    "臺東縣",
    "澎湖縣",
    "金門縣",
    "連江縣",
)

CODE_LENGTH = 10

_KIND_SET = frozenset(KINDS)
_COUNTY_SET = frozenset(COUNTIES)


@dataclass(frozen=True)
class InstitutionRecord:
    """One healthcare institution as imported or seeded into the portal."""

    code: str  # 醫事機構代碼, exactly 10 ASCII digits
    name: str  # 機構名稱
    kind: str  # one of KINDS
    county: str  # one of COUNTIES
    active: bool = True


def is_valid_code(code: str) -> bool:
    """Return True if ``code`` is exactly 10 ASCII digits."""
    # str.isdigit() alone would accept full-width and other Unicode digits.
    return len(code) == CODE_LENGTH and code.isascii() and code.isdigit()


def is_valid_kind(kind: str) -> bool:
    """Return True if ``kind`` is one of KINDS."""
    return kind in _KIND_SET


def normalise_county(county: str) -> str | None:
    """Return the official 臺-spelled county for ``county``, or None if unknown."""
    # 台 is the everyday variant; the official names all use 臺.
    candidate = county.strip().replace("台", "臺")
    return candidate if candidate in _COUNTY_SET else None
