"""Unit tests for the institution CSV importer and the demo data generators."""

from __future__ import annotations

import time

import pytest

from portal.institutions import importer
from portal.institutions.demo_data import (
    DEMO_CLINIC,
    DEMO_HOSPITAL,
    demo_institutions,
    generate_institutions,
)
from portal.institutions.importer import ParseResult, RowError, parse_institutions_csv
from portal.institutions.records import COUNTIES, KINDS, InstitutionRecord, normalise_county

HEADER = "code,name,kind,county,active"
GOOD_ROW = "0101090517,臺北仁心醫院,區域醫院,臺北市,1"


def parse_text(text: str, encoding: str = "utf-8") -> ParseResult:
    """Encode ``text`` and run it through the importer."""
    return parse_institutions_csv(text.encode(encoding))


def error_lines(result: ParseResult) -> list[int]:
    """Return the line numbers of all errors, in order."""
    return [error.line for error in result.errors]


def test_utf8_file_parses_all_rows() -> None:
    result = parse_text(f"{HEADER}\n{GOOD_ROW}\n3501200000,臺北虛擬診所,診所,臺北市,0\n")
    assert result.ok
    assert result.records == [
        InstitutionRecord("0101090517", "臺北仁心醫院", "區域醫院", "臺北市", True),
        InstitutionRecord("3501200000", "臺北虛擬診所", "診所", "臺北市", False),
    ]


def test_utf8_with_bom_and_crlf() -> None:
    data = b"\xef\xbb\xbf" + f"{HEADER}\r\n{GOOD_ROW}\r\n".encode()
    result = parse_institutions_csv(data)
    assert result.ok
    assert [record.code for record in result.records] == ["0101090517"]


def test_big5_file_is_decoded_with_cp950() -> None:
    text = "機構代碼,機構名稱,機構類別,縣市\n0512340001,彰化縣和美鎮健安藥局,藥局,彰化縣\n"
    # 許 has 0x5C (backslash) as its second Big5 byte, a classic pitfall.
    text += "0512340002,彰化縣鹿港鎮許牙醫診所,診所,彰化縣\n"
    data = text.encode("cp950")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    result = parse_institutions_csv(data)
    assert result.ok
    assert [record.name for record in result.records] == [
        "彰化縣和美鎮健安藥局",
        "彰化縣鹿港鎮許牙醫診所",
    ]


def test_chinese_headers_in_any_order_and_active_optional() -> None:
    result = parse_text(
        "縣市,機構名稱,機構代碼,機構類別\n高雄市,高雄市前鎮區衛生所,0212340001,衛生所\n"
    )
    assert result.ok
    assert result.records == [
        InstitutionRecord("0212340001", "高雄市前鎮區衛生所", "衛生所", "高雄市", True)
    ]


def test_english_headers_are_case_insensitive_and_extra_columns_ignored() -> None:
    result = parse_text(f"Code , NAME,Kind,County,備註\n{GOOD_ROW.rsplit(',', 1)[0]},anything\n")
    assert result.ok
    assert len(result.records) == 1


def test_missing_columns_reported_once_on_line_1() -> None:
    result = parse_text("code,name\n0101090517,某醫院\n")
    assert result.records == []
    assert len(result.errors) == 1
    assert result.errors[0].line == 1
    assert "機構類別" in result.errors[0].message
    assert "縣市" in result.errors[0].message


def test_empty_file_reports_missing_header() -> None:
    result = parse_institutions_csv(b"")
    assert error_lines(result) == [1]
    assert result.records == []


def test_bad_values_reported_on_their_lines() -> None:
    text = "\n".join(
        [
            HEADER,
            GOOD_ROW,  # line 2
            "12345,某診所,診所,臺北市,1",  # line 3: short code
            "0101090518,某診所,牙科,臺北市,1",  # line 4: unknown kind
            "0101090519,某診所,診所,火星市,1",  # line 5: unknown county
            "0101090520,某診所,診所,臺北市,maybe",  # line 6: bad active flag
            "0101090521,,診所,臺北市,1",  # line 7: empty name
            "０１０１０９０５２２,某診所,診所,臺北市,1",  # line 8: full-width digits
            "0101090523,某診所,診所,臺北市,1",  # line 9
        ]
    )
    result = parse_text(text)
    assert [record.code for record in result.records] == ["0101090517", "0101090523"]
    assert error_lines(result) == [3, 4, 5, 6, 7, 8]
    messages = [error.message for error in result.errors]
    assert messages[0].startswith("機構代碼「12345」須為 10 位數字")
    assert "機構類別「牙科」" in messages[1]
    assert "縣市「火星市」" in messages[2]
    assert "啟用「maybe」" in messages[3]
    assert messages[4] == "機構名稱不可空白"


def test_one_row_can_have_several_errors() -> None:
    result = parse_text(f"{HEADER}\nabc,某診所,牙科,火星市,1\n")
    assert error_lines(result) == [2, 2, 2]


def test_code_is_stripped_and_excel_hint_given() -> None:
    result = parse_text(
        f"{HEADER}\n  0101090517  ,某醫院,地區醫院,臺北市,\n101090518,某診所,診所,臺北市,\n"
    )
    assert [record.code for record in result.records] == ["0101090517"]
    assert error_lines(result) == [3]
    assert "Excel" in result.errors[0].message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True), ("0", False), ("Y", True), ("n", False), ("YES", True),
        ("No", False), ("True", True), ("FALSE", False), ("是", True),
        ("否", False), ("", True), (" y ", True),
    ],
)  # fmt: skip
def test_active_values(raw: str, expected: bool) -> None:
    result = parse_text(f"{HEADER}\n0101090517,某醫院,地區醫院,臺北市,{raw}\n")
    assert result.ok
    assert result.records[0].active is expected


def test_duplicate_code_reported_on_later_line() -> None:
    text = f"{HEADER}\n{GOOD_ROW}\n0202020202,某診所,診所,高雄市,1\n{GOOD_ROW}\n"
    result = parse_text(text)
    assert [record.code for record in result.records] == ["0101090517", "0202020202"]
    assert result.errors == [RowError(4, "機構代碼「0101090517」與第 2 行重複")]


def test_blank_lines_are_skipped_but_counted() -> None:
    text = f"{HEADER}\n\n{GOOD_ROW}\n   \n,,,,\n0101090518,某診所,牙科,臺北市,1\n\n"
    result = parse_text(text)
    assert len(result.records) == 1
    assert error_lines(result) == [6]


def test_tai_variant_is_normalised_to_official_spelling() -> None:
    text = f"{HEADER}\n0101090517,台北仁心醫院,地區醫院,台北市,1\n0101090518,某所,衛生所,台東縣,1\n"
    result = parse_text(text)
    assert result.ok
    assert [record.county for record in result.records] == ["臺北市", "臺東縣"]
    # Only the county is normalised; the name is kept as written.
    assert result.records[0].name == "台北仁心醫院"


def test_quoted_embedded_newline_keeps_line_numbers() -> None:
    text = (
        f"{HEADER}\n"
        '0101090517,"臺北仁心醫院",地區醫院,臺北市,"是\n"\n'  # lines 2-3
        '0101090518,某診所,診所,臺北市,"x\n\ny"\n'  # lines 4-6: bad active value
        "0101090519,某診所,牙科,臺北市,1\n"  # line 7: bad kind
    )
    result = parse_text(text)
    assert [record.code for record in result.records] == ["0101090517"]
    assert error_lines(result) == [4, 7]
    assert "機構類別「牙科」" in result.errors[1].message


def test_name_with_embedded_newline_is_rejected() -> None:
    result = parse_text(f'{HEADER}\n0101090517,"臺北\n仁心醫院",地區醫院,臺北市,1\n{GOOD_ROW}\n')
    assert error_lines(result) == [2, 4]
    assert "\\n" in result.errors[0].message


def test_name_longer_than_100_chars_is_rejected() -> None:
    result = parse_text(f"{HEADER}\n0101090517,{'醫' * 101},地區醫院,臺北市,1\n")
    assert error_lines(result) == [2]
    assert "100" in result.errors[0].message


def test_undecodable_file_gives_single_file_level_error() -> None:
    result = parse_institutions_csv(b"code,name\n\xff\xfe\x80\x81\n")
    assert result.records == []
    assert len(result.errors) == 1
    assert result.errors[0].line == 0
    assert "UTF-8" in result.errors[0].message
    assert "Big5" in result.errors[0].message


def test_utf16_file_is_rejected_as_not_utf8_or_big5() -> None:
    result = parse_institutions_csv(f"{HEADER}\n{GOOD_ROW}\n".encode("utf-16"))
    assert error_lines(result) == [0]


def test_over_long_field_is_a_row_error() -> None:
    result = parse_text(f"{HEADER}\n0101090599,{'x' * 1001},地區醫院,臺北市,1\n{GOOD_ROW}\n")
    assert error_lines(result) == [2]
    assert "1,000" in result.errors[0].message
    assert len(result.records) == 1


def test_field_beyond_csv_module_limit_stops_without_exception() -> None:
    text = f'{HEADER}\n{GOOD_ROW}\n0101090518,"{"x" * 200_000}",診所,臺北市,1\n'
    result = parse_text(text)
    assert len(result.records) == 1
    assert error_lines(result) == [3]


def test_unterminated_quote_does_not_raise() -> None:
    result = parse_text(f'{HEADER}\n0101090518,"某診所,診所,臺北市,1\n{GOOD_ROW}\n')
    assert result.records == []
    assert result.errors and result.errors[0].line == 2


def test_row_limit_stops_with_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    rows = [f"01010905{index:02d},某診所,診所,臺北市,1" for index in range(5)]
    result = parse_text("\n".join([HEADER, *rows]))
    assert len(result.records) == 3
    assert error_lines(result) == [5]
    assert "上限" in result.errors[0].message


def test_normalise_county() -> None:
    assert normalise_county(" 台中市 ") == "臺中市"
    assert normalise_county("臺中縣") is None


def test_vocabularies() -> None:
    assert len(COUNTIES) == 22 == len(set(COUNTIES))
    assert all("台" not in county for county in COUNTIES)
    assert len(KINDS) == 8


def test_demo_institutions_are_valid_unique_and_cover_everything() -> None:
    records = demo_institutions()
    codes = [record.code for record in records]
    assert len(records) >= 220
    assert len(set(codes)) == len(codes)
    assert all(len(code) == 10 and code.isdigit() for code in codes)
    assert {record.county for record in records} == set(COUNTIES)
    assert {record.kind for record in records} == set(KINDS)
    assert InstitutionRecord("3501200000", "臺北虛擬診所", "診所", "臺北市") in records
    assert DEMO_CLINIC in records
    assert InstitutionRecord("3501200001", "臺北虛擬醫院", "地區醫院", "臺北市") == DEMO_HOSPITAL
    assert DEMO_HOSPITAL in records
    assert demo_institutions() == records  # deterministic


def test_demo_institutions_round_trip_through_importer() -> None:
    records = demo_institutions()
    lines = [HEADER] + [
        f"{r.code},{r.name},{r.kind},{r.county},{'1' if r.active else '0'}" for r in records
    ]
    result = parse_text("\n".join(lines), encoding="cp950")
    assert result.ok
    assert result.records == records


def test_generate_institutions_30000_is_fast_unique_and_deterministic() -> None:
    started = time.perf_counter()
    records = list(generate_institutions(30_000))
    elapsed = time.perf_counter() - started
    codes = {record.code for record in records}
    assert len(records) == 30_000
    assert len(codes) == 30_000
    assert all(code.startswith("9") and len(code) == 10 and code.isdigit() for code in codes)
    assert not codes & {record.code for record in demo_institutions()}
    assert elapsed < 3.0
    assert list(generate_institutions(50)) == records[:50]
    assert list(generate_institutions(50, seed=1)) != records[:50]


def test_generated_institutions_pass_the_importer() -> None:
    records = list(generate_institutions(500, seed=7))
    lines = [HEADER] + [
        f"{r.code},{r.name},{r.kind},{r.county},{'Y' if r.active else 'N'}" for r in records
    ]
    result = parse_text("\n".join(lines))
    assert result.ok
    assert result.records == records


def test_generate_institutions_rejects_negative_count() -> None:
    with pytest.raises(ValueError):
        list(generate_institutions(-1))
