"""Deterministic fictional institutions for demos, seeding and benchmarks."""

from __future__ import annotations

import random
from collections.abc import Iterator
from functools import lru_cache

from portal.institutions.records import COUNTIES, KINDS, InstitutionRecord

# Fixed records that other parts of the portal (demo accounts, docs,
# end-to-end tests) refer to by code, so they must never change.
DEMO_CLINIC = InstitutionRecord("3501200000", "臺北虛擬診所", "診所", "臺北市")
DEMO_HOSPITAL = InstitutionRecord("3501200001", "臺北虛擬醫院", "地區醫院", "臺北市")

# Real district names (鄉鎮市區) per county so addresses look plausible.
DISTRICTS: dict[str, tuple[str, ...]] = {
    "臺北市": ("中正區", "大安區", "信義區", "士林區", "內湖區"),
    "新北市": ("板橋區", "三重區", "中和區", "新莊區", "新店區"),
    "桃園市": ("桃園區", "中壢區", "平鎮區", "龜山區"),
    "臺中市": ("西屯區", "北屯區", "豐原區", "大里區"),
    "臺南市": ("東區", "永康區", "新營區", "安南區"),
    "高雄市": ("前鎮區", "苓雅區", "鳳山區", "左營區"),
    "基隆市": ("仁愛區", "信義區", "七堵區"),
    "新竹市": ("東區", "北區", "香山區"),
    "嘉義市": ("東區", "西區"),
    "新竹縣": ("竹北市", "竹東鎮", "湖口鄉"),
    "苗栗縣": ("苗栗市", "頭份市", "竹南鎮"),
    "彰化縣": ("彰化市", "員林市", "和美鎮", "鹿港鎮"),
    "南投縣": ("南投市", "埔里鎮", "草屯鎮"),
    "雲林縣": ("斗六市", "虎尾鎮", "北港鎮"),
    "嘉義縣": ("太保市", "朴子市", "民雄鄉"),
    "屏東縣": ("屏東市", "潮州鎮", "東港鎮"),
    "宜蘭縣": ("宜蘭市", "羅東鎮", "蘇澳鎮"),
    "花蓮縣": ("花蓮市", "吉安鄉", "玉里鎮"),
    "臺東縣": ("臺東市", "成功鎮", "關山鎮"),
    "澎湖縣": ("馬公市", "湖西鄉"),
    "金門縣": ("金城鎮", "金湖鎮", "金沙鎮"),
    "連江縣": ("南竿鄉", "北竿鄉"),
}

# Short place name used in hospital names (新竹縣 hospitals say 竹北, etc.).
_SHORT_NAMES: dict[str, str] = {
    "新竹縣": "竹北",
    "嘉義縣": "朴子",
    "連江縣": "馬祖",
}

SURNAMES = (
    "陳", "林", "黃", "張", "李", "王", "吳", "劉", "蔡", "楊",
    "許", "鄭", "謝", "郭", "洪", "曾", "邱", "廖", "賴", "周",
)  # fmt: skip
SPECIALTIES = (
    "內科", "小兒科", "耳鼻喉科", "眼科", "皮膚科",
    "家庭醫學科", "婦產科", "骨科", "牙醫", "中醫",
)  # fmt: skip
HOSPITAL_WORDS = (
    "慈恩", "仁心", "安康", "博仁", "宏德", "聖恩", "永安", "惠生",
    "康澤", "福田", "育仁", "信和",
)  # fmt: skip
PHARMACY_WORDS = (
    "健安", "康寧", "仁和", "長春", "福安", "維康", "順天", "佑生",
    "安心", "信德", "杏林", "百齡",
)  # fmt: skip
OTHER_KINDS = ("醫事檢驗所", "物理治療所", "居家護理所", "助產所", "心理治療所")

# Counties with a fictional 醫學中心 (roughly where real ones are).
_MEDICAL_CENTRE_COUNTIES = frozenset(
    {"臺北市", "新北市", "桃園市", "臺中市", "臺南市", "高雄市", "花蓮縣"}
)
# Islands too small for a 區域醫院.
_NO_REGIONAL_HOSPITAL = frozenset({"澎湖縣", "金門縣", "連江縣"})

# Generated benchmark codes start with 9, a prefix demo codes never use.
_GENERATED_PREFIX = "9"
_GENERATED_SPACE = 10**9
# Odd and not a multiple of 5, hence coprime with 10**9: i -> (i*A + B) mod
# 10**9 is a bijection, so codes are unique yet do not look sequential.
_CODE_MULTIPLIER = 387_420_489


def demo_institutions() -> list[InstitutionRecord]:
    """Return the deterministic demo institution list (fresh list each call)."""
    return list(_demo_institutions())


@lru_cache(maxsize=1)
def _demo_institutions() -> tuple[InstitutionRecord, ...]:
    """Build the demo list once; records are frozen so sharing them is safe."""
    records = [DEMO_CLINIC, DEMO_HOSPITAL]
    for county_no, county in enumerate(COUNTIES, start=1):
        records.extend(_county_institutions(county_no, county))
    return tuple(records)


def _county_institutions(county_no: int, county: str) -> list[InstitutionRecord]:
    """Return the demo institutions of one county, codes numbered per kind."""
    short = _SHORT_NAMES.get(county, county[:2])
    word = _pick(HOSPITAL_WORDS, county_no)
    names: list[tuple[str, str]] = []
    if county in _MEDICAL_CENTRE_COUNTIES:
        names.append(("醫學中心", f"{short}{word}紀念醫院"))
    if county not in _NO_REGIONAL_HOSPITAL:
        names.append(("區域醫院", f"{short}{_pick(HOSPITAL_WORDS, county_no + 3)}醫院"))
    names.append(("地區醫院", f"{short}{_pick(HOSPITAL_WORDS, county_no + 7)}醫院"))
    # 直轄市 health bureaus are part of the city government; counties' are not.
    bureau = "政府衛生局" if county in COUNTIES[:6] else "衛生局"
    names.append(("衛生局", f"{county}{bureau}"))
    names.append(("其他", f"{county}{DISTRICTS[county][0]}{_pick(OTHER_KINDS, county_no)}"))
    for offset, district in enumerate(DISTRICTS[county]):
        names.extend(_district_names(county, district, county_no * 7 + offset * 3))
    return _number(county_no, county, names)


def _district_names(county: str, district: str, salt: int) -> list[tuple[str, str]]:
    """Return (kind, name) pairs for one district: health station, clinics, pharmacy."""
    place = f"{county}{district}"
    return [
        ("衛生所", f"{place}衛生所"),
        ("診所", f"{place}{_pick(SURNAMES, salt)}{_pick(SPECIALTIES, salt)}診所"),
        ("診所", f"{place}{_pick(SURNAMES, salt + 5)}{_pick(SPECIALTIES, salt + 4)}診所"),
        ("藥局", f"{place}{_pick(PHARMACY_WORDS, salt)}藥局"),
    ]


def _number(county_no: int, county: str, names: list[tuple[str, str]]) -> list[InstitutionRecord]:
    """Assign codes CC K SSSSSSS (county no., kind no., sequence) and build records."""
    sequence = dict.fromkeys(KINDS, 0)
    records = []
    for kind, name in names:
        sequence[kind] += 1
        kind_no = KINDS.index(kind) + 1
        # Sequence starts at 10001 so codes are not mostly zeros.
        code = f"{county_no:02d}{kind_no}{10_000 + sequence[kind]:07d}"
        # A few closed clinics make the "inactive" filters worth demoing.
        active = not (kind == "診所" and sequence[kind] == 3)
        records.append(InstitutionRecord(code, name, kind, county, active))
    return records


def _pick(pool: tuple[str, ...], index: int) -> str:
    """Return a pool entry chosen deterministically by ``index``."""
    return pool[index % len(pool)]


def generate_institutions(count: int, seed: int = 0) -> Iterator[InstitutionRecord]:
    """Yield ``count`` unique, deterministic fictional institutions (codes 9xxxxxxxxx)."""
    if not 0 <= count <= _GENERATED_SPACE:
        raise ValueError(f"count must be between 0 and {_GENERATED_SPACE}")
    rng = random.Random(seed)
    offset = rng.randrange(_GENERATED_SPACE)
    # Weighted like the real register: mostly clinics and pharmacies.
    kinds = ("診所",) * 12 + ("藥局",) * 6 + ("其他",) * 2 + tuple(KINDS)
    for index in range(count):
        serial = (index * _CODE_MULTIPLIER + offset) % _GENERATED_SPACE
        county = rng.choice(COUNTIES)
        kind = rng.choice(kinds)
        name = _generated_name(rng, county, kind)
        # About 1 in 20 is closed, as in a register that is never purged.
        active = rng.random() >= 0.05
        yield InstitutionRecord(f"{_GENERATED_PREFIX}{serial:09d}", name, kind, county, active)


def _generated_name(rng: random.Random, county: str, kind: str) -> str:
    """Compose a plausible name for ``kind`` from the surname/specialty pools."""
    place = f"{county}{rng.choice(DISTRICTS[county])}"
    surname = rng.choice(SURNAMES)
    if kind == "診所":
        return f"{place}{surname}{rng.choice(SPECIALTIES)}診所"
    if kind == "藥局":
        return f"{place}{rng.choice(PHARMACY_WORDS)}藥局"
    if kind == "其他":
        return f"{place}{surname}{rng.choice(OTHER_KINDS)}"
    if kind == "衛生所":
        return f"{place}衛生所"
    if kind == "衛生局":
        return f"{county}衛生局"
    if kind == "地區醫院":
        return f"{place}{surname}綜合醫院"
    return f"{county[:2]}{rng.choice(HOSPITAL_WORDS)}醫院"
