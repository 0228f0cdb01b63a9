"""Parse uploaded institution CSV files (UTF-8 or Big5) into records and errors."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from portal.institutions.records import (
    CODE_LENGTH,
    KINDS,
    InstitutionRecord,
    is_valid_code,
    is_valid_kind,
    normalise_county,
)

# Limits that keep a hostile or mistaken upload from exhausting the worker.
MAX_ROWS = 200_000
MAX_FIELD_CHARS = 1_000
MAX_NAME_CHARS = 100
# How much of an over-long value to echo back in a message.
_PREVIEW_CHARS = 20

REQUIRED_COLUMNS: tuple[str, ...] = ("code", "name", "kind", "county")
OPTIONAL_COLUMNS: tuple[str, ...] = ("active",)

# Chinese display name for each canonical column, used in every message.
COLUMN_LABELS: dict[str, str] = {
    "code": "機構代碼",
    "name": "機構名稱",
    "kind": "機構類別",
    "county": "縣市",
    "active": "啟用",
}

# Header spellings we accept; English is compared case-insensitively.
_HEADER_ALIASES: dict[str, str] = {
    **{key: key for key in COLUMN_LABELS},
    **{label: key for key, label in COLUMN_LABELS.items()},
}

_TRUE_VALUES = frozenset({"1", "y", "yes", "true", "是"})
_FALSE_VALUES = frozenset({"0", "n", "no", "false", "否"})

# Excel's "Unicode text" export is UTF-16; it would otherwise fail with a
# confusing cp950 error, so recognise it and give the same clear message.
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_ENCODING_ERROR = "檔案編碼無法辨識：既不是 UTF-8 也不是 Big5，請另存為 UTF-8 或 Big5 格式的 CSV"


@dataclass(frozen=True)
class RowError:
    """A problem found at a physical line of the file (0 = whole file)."""

    line: int
    message: str


@dataclass
class ParseResult:
    """Valid records plus every error found, in file order."""

    records: list[InstitutionRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return True if the file produced no errors at all."""
        return not self.errors


def parse_institutions_csv(data: bytes) -> ParseResult:
    """Parse CSV bytes into institution records, collecting per-line errors."""
    result = ParseResult()
    text = _decode(data)
    if text is None:
        result.errors.append(RowError(0, _ENCODING_ERROR))
        return result
    rows = _RowReader(text)
    try:
        header = _read_header(rows, result)
        if header is not None:
            _read_body(rows, header, result)
    except csv.Error:
        # Reached for a field beyond the csv module's own size limit (far
        # above MAX_FIELD_CHARS); the reader cannot resume, so stop here.
        result.errors.append(
            RowError(
                rows.last_line + 1, "此行起的內容無法解析為 CSV（欄位過長或格式損壞），已停止讀取"
            )
        )
    return result


def _decode(data: bytes) -> str | None:
    """Decode as UTF-8 (BOM optional) or cp950, or return None."""
    if data.startswith(_UTF16_BOMS):
        return None
    # utf-8-sig strips a BOM if present and is a no-op otherwise.
    for encoding in ("utf-8-sig", "cp950"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


class _RowReader:
    """Yield (starting line, fields) pairs, remembering the last line consumed."""

    def __init__(self, text: str) -> None:
        # newline="" is what the csv module requires so that quoted
        # newlines survive and \r\n counts as a single physical line.
        self._reader = csv.reader(io.StringIO(text, newline=""))
        self.last_line = 0

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        return self

    def __next__(self) -> tuple[int, list[str]]:
        # reader.line_num is the line a record *ends* on; a record with
        # quoted newlines therefore starts right after the previous one.
        while True:
            fields = next(self._reader)
            start = self.last_line + 1
            self.last_line = self._reader.line_num
            if any(value.strip() for value in fields):
                return start, fields


def _read_header(rows: _RowReader, result: ParseResult) -> dict[str, int] | None:
    """Map canonical column names to indexes, or record an error and return None."""
    first = next(rows, None)
    if first is None:
        result.errors.append(RowError(1, "檔案沒有內容，第一列須為標題列"))
        return None
    line, cells = first
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = _HEADER_ALIASES.get(cell.strip().lower())
        if key is None:
            continue  # extra columns (e.g. notes) are harmless
        if key in columns:
            result.errors.append(RowError(line, f"標題列的「{_describe(key)}」欄位重複"))
            return None
        columns[key] = index
    missing = [key for key in REQUIRED_COLUMNS if key not in columns]
    if missing:
        names = "、".join(_describe(key) for key in missing)
        result.errors.append(RowError(line, f"標題列缺少必要欄位：{names}"))
        return None
    return columns


def _describe(key: str) -> str:
    """Return a column name in both languages, e.g. 機構代碼（code）."""
    return f"{COLUMN_LABELS[key]}（{key}）"


def _read_body(rows: _RowReader, columns: dict[str, int], result: ParseResult) -> None:
    """Validate every data row, appending records and errors to ``result``."""
    first_seen: dict[str, int] = {}
    for count, (line, cells) in enumerate(rows, start=1):
        if count > MAX_ROWS:
            result.errors.append(
                RowError(line, f"資料超過 {MAX_ROWS:,} 列上限，已停止讀取後續資料")
            )
            return
        errors = _check_lengths(cells, columns)
        record = None if errors else _build_record(cells, columns, errors)
        code = _cell(cells, columns, "code")
        if is_valid_code(code):
            # Report the repeat even if the first row was bad: fixing that
            # row would only reveal the clash on the next upload.
            if code in first_seen:
                errors.append(f"機構代碼「{code}」與第 {first_seen[code]} 行重複")
                record = None
            else:
                first_seen[code] = line
        result.errors.extend(RowError(line, message) for message in errors)
        if record is not None:
            result.records.append(record)


def _cell(cells: list[str], columns: dict[str, int], key: str) -> str:
    """Return the stripped value of column ``key``; short rows read as empty."""
    index = columns.get(key)
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


def _check_lengths(cells: list[str], columns: dict[str, int]) -> list[str]:
    """Return messages for any field longer than MAX_FIELD_CHARS."""
    labels = {index: COLUMN_LABELS[key] for key, index in columns.items()}
    messages = []
    for index, value in enumerate(cells):
        if len(value) > MAX_FIELD_CHARS:
            label = labels.get(index, f"第 {index + 1} 欄")
            preview = value[:_PREVIEW_CHARS]
            messages.append(
                f"{label}「{preview}…」長度 {len(value):,} 字，超過 {MAX_FIELD_CHARS:,} 字上限"
            )
    return messages


def _build_record(
    cells: list[str], columns: dict[str, int], errors: list[str]
) -> InstitutionRecord | None:
    """Validate one row; append messages to ``errors`` and return the record if clean."""
    code = _cell(cells, columns, "code")
    name = _cell(cells, columns, "name")
    kind = _cell(cells, columns, "kind")
    raw_county = _cell(cells, columns, "county")
    raw_active = _cell(cells, columns, "active")
    errors.extend(_code_errors(code))
    if not name:
        errors.append("機構名稱不可空白")
    elif len(name) > MAX_NAME_CHARS:
        errors.append(f"機構名稱「{name[:_PREVIEW_CHARS]}…」超過 {MAX_NAME_CHARS} 字上限")
    elif _has_control_chars(name):
        # Quoted newlines or NULs would break listings and PostgreSQL text.
        errors.append(f"機構名稱「{_visible(name)}」不可包含換行或控制字元")
    if not is_valid_kind(kind):
        errors.append(f"機構類別「{_visible(kind)}」須為下列之一：{'、'.join(KINDS)}")
    county = normalise_county(raw_county)
    if county is None:
        errors.append(f"縣市「{_visible(raw_county)}」不是有效的縣市名稱（例如：臺北市、彰化縣）")
    active = _parse_active(raw_active)
    if active is None:
        errors.append(f"啟用「{_visible(raw_active)}」須為 1/0、Y/N、yes/no、true/false 或 是/否")
    if errors or county is None or active is None:
        return None
    return InstitutionRecord(code, name, kind, county, active)


def _code_errors(code: str) -> list[str]:
    """Return messages explaining why ``code`` is not a valid institution code."""
    if not code:
        return ["機構代碼不可空白"]
    if is_valid_code(code):
        return []
    message = f"機構代碼「{_visible(code)}」須為 {CODE_LENGTH} 位數字"
    if code.isascii() and code.isdigit() and len(code) < CODE_LENGTH:
        # The usual cause: Excel treated the column as a number and
        # dropped the leading zero(s).
        message += "（可能是 Excel 刪除了開頭的 0，請將該欄設為文字格式）"
    return [message]


def _has_control_chars(value: str) -> bool:
    """Return True if ``value`` contains newlines, tabs, NUL or similar."""
    return any(unicodedata.category(char) == "Cc" for char in value)


def _visible(value: str) -> str:
    """Return ``value`` with control characters shown as escapes (e.g. \\n)."""
    return "".join(
        repr(char)[1:-1] if unicodedata.category(char) == "Cc" else char for char in value
    )


def _parse_active(value: str) -> bool | None:
    """Interpret the 啟用 column; empty means active, None means unrecognised."""
    folded = value.lower()
    if not folded or folded in _TRUE_VALUES:
        return True
    if folded in _FALSE_VALUES:
        return False
    return None
