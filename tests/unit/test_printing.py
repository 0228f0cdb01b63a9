"""Unit tests for portal.printing: the 管理者帳號申請、異動表 PDF, read back by poppler and zbar."""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields, replace
from pathlib import Path

import pytest

from portal import printing
from portal.printing import (
    FORMS_DIR,
    BlankManagerForm,
    ManagerFormData,
    form_version,
    render_blank_manager_form,
    render_manager_form,
    render_manager_forms,
    split_phone,
)
from tests.forms import FORM_A

# The command-line tools the tests read PDFs with, and the Debian package of each.
TOOLS = {
    "pdftotext": "poppler-utils",
    "pdfinfo": "poppler-utils",
    "pdftoppm": "poppler-utils",
    "pdffonts": "poppler-utils",
    "zbarimg": "zbar-tools",
}
KIND_LABELS = (
    "A. 初次管理者帳號申請",
    "B. 停用管理者帳號",
    "C. 異動管理者帳號權限",
    "a. 升為管理者",
    "b. 降為一般使用者",
)
A4_POINTS = (595.28, 841.89)
# The two kinds of number a form may carry: an application's and a manager change's.
APPLICATION_NO = "20261203123456"
CHANGE_NO = "M20261203123456"


def _run(tool: str, *args: str | Path) -> str:
    """Run a poppler/zbar tool and return its stdout; fail naming the package if it is missing."""
    if shutil.which(tool) is None:
        pytest.fail(f"`{tool}` is not installed: apt-get install {TOOLS[tool]}")
    result = subprocess.run(
        [tool, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"{tool} failed: {result.stderr}"
    return result.stdout


def _write(pdf: bytes, folder: Path, name: str = "form") -> Path:
    """Save PDF bytes for the command-line tools."""
    path = folder / f"{name}.pdf"
    path.write_bytes(pdf)
    return path


def _text(pdf_path: Path) -> str:
    """The PDF's text laid out as on the page."""
    return _run("pdftotext", "-layout", pdf_path, "-")


def _page_count(pdf_path: Path) -> int:
    """How many pages the PDF has, after checking that every one is A4 portrait."""
    info = _run("pdfinfo", "-l", "-1", pdf_path)
    sizes = re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info, re.MULTILINE)
    assert sizes, info
    for width, height in sizes:
        assert float(width) == pytest.approx(A4_POINTS[0], abs=0.5)
        assert float(height) == pytest.approx(A4_POINTS[1], abs=0.5)
    count = re.search(r"^Pages:\s+(\d+)$", info, re.MULTILINE)
    assert count and int(count.group(1)) == len(sizes), info
    return len(sizes)


def _page_text(pdf_path: Path, page: int) -> str:
    """One page's text laid out as on the page."""
    return _run("pdftotext", "-layout", "-f", str(page), "-l", str(page), pdf_path, "-")


def _qr_codes(pdf_path: Path, page: int, folder: Path) -> list[str]:
    """What zbar reads from the QR codes of one page, drawn at 150 dpi as a scanner would."""
    image = folder / f"page-{page}"
    _run("pdftoppm", "-r", "150", "-png", "-f", page, "-l", page, "-singlefile", pdf_path, image)
    if shutil.which("zbarimg") is None:
        pytest.fail(f"`zbarimg` is not installed: apt-get install {TOOLS['zbarimg']}")
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", f"{image}.png"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # zbarimg exits with 4 when the image holds no code at all.
    assert result.returncode in (0, 4), f"zbarimg failed: {result.stderr}"
    return result.stdout.split()


def _ticked(text: str) -> set[str]:
    """The kind labels whose box is ticked."""
    return {label for label, mark in _ticks(text).items() if mark == "☑"}


def _ticks(text: str) -> dict[str, str]:
    """For each kind label, the box printed just before it (☑ or ☐)."""
    marks = {}
    for label in KIND_LABELS:
        match = re.search(rf"([☑☐])\s*{re.escape(label)}", text)
        assert match, f"no box before {label!r} in:\n{text}"
        marks[label] = match.group(1)
    return marks


@pytest.fixture(scope="module")
def form_a_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Kind A for 臺北虛擬診所, rendered once for the tests that only read it."""
    return _write(render_manager_form(FORM_A), tmp_path_factory.mktemp("form_a"))


def test_prefilled_text_is_printed(form_a_pdf: Path) -> None:
    text = _text(form_a_pdf)
    for expected in (
        "衛生福利部國民健康署",
        "預防保健服務單一入口系統",
        "管理者帳號申請、異動表",
        "臺北虛擬診所",
        "3501200000",
        "20260315123456",
        "初次管理者帳號申請",
        "taipei.manager",
        "王小明",
        "A12345****",
        "manager@clinic.example.tw",
        "機構關防",
        "負責人章",
        "用印後掃描上傳至系統，或依指示寄送",
    ):
        assert expected in text, f"{expected!r} missing from:\n{text}"
    assert re.search(r"西元\s+2026\s+年\s+03\s+月\s+15\s+日", text)
    assert re.search(r"機構、部門\s+家庭醫學科", text)
    assert re.search(r"（\s*02\s*）\s*12345678\s+分機\s+123", text)
    # The agency's name heads the form, above the system's name and the title.
    assert (
        text.index("衛生福利部國民健康署")
        < text.index("預防保健服務單一入口系統")
        < text.index("管理者帳號申請、異動表")
    )


def test_footer_carries_the_form_version(form_a_pdf: Path) -> None:
    version = (FORMS_DIR / "manager_change" / "VERSION").read_text(encoding="utf-8").strip()
    assert form_version("manager_change") == version
    assert f"表單版本 {version}" in _text(form_a_pdf)


def test_is_one_a4_page(form_a_pdf: Path) -> None:
    info = _run("pdfinfo", form_a_pdf)
    assert re.search(r"^Pages:\s+1$", info, re.MULTILINE), info
    size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", info, re.MULTILINE)
    assert size, info
    assert float(size.group(1)) == pytest.approx(A4_POINTS[0], abs=0.5)
    assert float(size.group(2)) == pytest.approx(A4_POINTS[1], abs=0.5)


def test_embeds_one_cjk_face(form_a_pdf: Path) -> None:
    # Each CJK face costs ~45 ms of subsetting per PDF; the stylesheet keeps to one weight.
    fonts = _run("pdffonts", form_a_pdf)
    assert re.findall(r"\bNoto-Sans-CJK-TC\S*", fonts) == ["Noto-Sans-CJK-TC"], fonts


def test_qr_code_decodes_to_the_application_number(form_a_pdf: Path, tmp_path: Path) -> None:
    _run("pdftoppm", "-r", "150", "-png", "-singlefile", form_a_pdf, tmp_path / "page")
    decoded = _run("zbarimg", "--raw", "-q", tmp_path / "page.png")
    assert decoded.strip() == FORM_A.application_no


@pytest.mark.parametrize("number", [APPLICATION_NO, CHANGE_NO])
def test_either_kind_of_number_is_printed_and_encoded(number: str, tmp_path: Path) -> None:
    pdf = _write(render_manager_form(replace(FORM_A, application_no=number)), tmp_path)
    text = _text(pdf)
    assert re.search(rf"申請編號\s+{number}\b", text), text  # the footer
    assert len(re.findall(rf"(?<![0-9A-Z]){number}\b", text)) == 2, text  # and the masthead
    assert _qr_codes(pdf, 1, tmp_path) == [number]


def test_kind_a_ticks_only_a(form_a_pdf: Path) -> None:
    marks = _ticks(_text(form_a_pdf))
    assert [label for label, mark in marks.items() if mark == "☑"] == [KIND_LABELS[0]]


@pytest.mark.parametrize(
    ("kind", "change", "ticked"),
    [
        ("B", None, {"B. 停用管理者帳號"}),
        ("C", "promote", {"C. 異動管理者帳號權限", "a. 升為管理者"}),
        ("C", "demote", {"C. 異動管理者帳號權限", "b. 降為一般使用者"}),
    ],
)
def test_each_kind_ticks_its_boxes(
    kind: str, change: str | None, ticked: set[str], tmp_path: Path
) -> None:
    pdf = _write(render_manager_form(replace(FORM_A, kind=kind, change=change)), tmp_path)
    marks = _ticks(_text(pdf))
    assert {label for label, mark in marks.items() if mark == "☑"} == ticked
    assert all(mark == "☐" for label, mark in marks.items() if label not in ticked)


def test_full_national_id_is_printed_when_the_caller_passes_it(tmp_path: Path) -> None:
    pdf = _write(render_manager_form(replace(FORM_A, national_id_display="A123456789")), tmp_path)
    assert "A123456789" in _text(pdf)


def test_values_are_escaped_not_interpreted(tmp_path: Path) -> None:
    form = replace(FORM_A, institution_name='<img src="file:///etc/passwd">臺北<b>虛擬</b>診所')
    text = _text(_write(render_manager_form(form), tmp_path))
    assert '<img src="file:///etc/passwd">臺北<b>虛擬</b>診所' in text


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://127.0.0.1:9/x.png"])
def test_only_data_uris_are_fetched(url: str) -> None:
    with pytest.raises(RuntimeError, match="may not load"):
        printing._html_to_pdf("manager_change", f'<img src="{url}">')


def test_long_values_still_fit_on_one_page(tmp_path: Path) -> None:
    form = replace(
        FORM_A,
        kind="C",
        change="promote",
        institution_name="醫療財團法人辜公亮基金會和信治癌中心醫院附設居家護理所暨社區復健中心分院",
        username="a.very.long.username.for.testing.1234",
        applicant_name="歐陽娜娜・阿布杜拉・瓦歷斯尤幹",
        department="家庭暨社區醫學部預防保健暨健康管理中心成人健檢組第二辦公室行政組",
        email="very.long.email.address.of.the.manager@subdomain.hospital-example.org.tw",
    )
    info = _run("pdfinfo", _write(render_manager_form(form), tmp_path))
    assert re.search(r"^Pages:\s+1$", info, re.MULTILINE), info


def test_concurrent_renders_keep_their_own_data(tmp_path: Path) -> None:
    numbers = [f"2026031500000{i}" for i in range(4)]
    forms = [replace(FORM_A, application_no=number) for number in numbers]
    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(pool.map(render_manager_form, forms))
    for number, pdf in zip(numbers, pdfs, strict=True):
        assert number in _text(_write(pdf, tmp_path, number))


@pytest.mark.parametrize(
    ("leaving_kind", "leaving_change", "leaving_ticks"),
    [
        ("B", None, {"B. 停用管理者帳號"}),
        ("C", "demote", {"C. 異動管理者帳號權限", "b. 降為一般使用者"}),
    ],
)
def test_a_hand_over_prints_a_page_per_person_with_the_same_number(
    leaving_kind: str, leaving_change: str | None, leaving_ticks: set[str], tmp_path: Path
) -> None:
    leaving = replace(
        FORM_A,
        application_no=CHANGE_NO,
        kind=leaving_kind,
        change=leaving_change,
        username="old.manager",
        applicant_name="王小明",
        national_id_display="A12345****",
        department="家庭醫學科",
        email="old@clinic.example.tw",
    )
    arriving = replace(
        FORM_A,
        application_no=CHANGE_NO,
        kind="C",
        change="promote",
        username="new.manager",
        applicant_name="李大同",
        national_id_display="F22345****",
        department="社區醫學部",
        phone_extension="456",
        email="new@clinic.example.tw",
    )
    pdf = _write(render_manager_forms([leaving, arriving]), tmp_path)
    assert _page_count(pdf) == 2
    first, second = _page_text(pdf, 1), _page_text(pdf, 2)

    assert _ticked(first) == leaving_ticks
    assert _ticked(second) == {"C. 異動管理者帳號權限", "a. 升為管理者"}
    assert re.search(r"☑\s*C\. 異動管理者帳號權限.*\n.*☑\s*a\. 升為管理者", second)
    for text, person, other in ((first, leaving, arriving), (second, arriving, leaving)):
        for value in (
            "衛生福利部國民健康署",
            "臺北虛擬診所",
            "3501200000",
            person.username,
            person.applicant_name,
            person.national_id_display,
            person.email,
        ):
            assert value in text, f"{value!r} missing from:\n{text}"
        assert re.search(rf"機構、部門\s+{person.department}", text), text
        assert re.search(rf"分機\s+{person.phone_extension}", text), text
        assert other.username not in text and other.applicant_name not in text
        # The same filing number on each page: in the masthead, the footer and the QR code.
        assert len(re.findall(rf"{CHANGE_NO}\b", text)) == 2, text
    assert _qr_codes(pdf, 1, tmp_path) == [CHANGE_NO]
    assert _qr_codes(pdf, 2, tmp_path) == [CHANGE_NO]


def test_one_form_is_the_one_page_case_of_several(form_a_pdf: Path, tmp_path: Path) -> None:
    several = _write(render_manager_forms([FORM_A]), tmp_path)
    assert _page_count(several) == 1
    assert _text(several) == _text(form_a_pdf)


def test_a_filing_without_pages_prints_nothing() -> None:
    with pytest.raises(ValueError):
        render_manager_forms([])


@pytest.fixture(scope="module")
def blank_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The blank form, rendered once for the tests that only read it."""
    return _write(render_blank_manager_form(), tmp_path_factory.mktemp("blank"))


def test_blank_form_has_every_label_and_no_value(blank_pdf: Path) -> None:
    assert _page_count(blank_pdf) == 1
    text = _text(blank_pdf)
    for label in (
        "衛生福利部國民健康署",
        "預防保健服務單一入口系統",
        "管理者帳號申請、異動表",
        "申請日期",
        "機構名稱",
        "機構代碼",
        "申請帳號",
        "申請人姓名",
        "身分證字號",
        "機構、部門",
        "聯絡電話",
        "分機",
        "E-mail 信箱",
        "機構關防",
        "負責人章",
        f"表單版本 {form_version('manager_change')}",
    ):
        assert label in text, f"{label!r} missing from:\n{text}"
    assert re.search(r"西元\s+年\s+月\s+日", text), text
    assert re.search(r"機構、部門\s*\n", text), text
    for value in (FORM_A.institution_name, FORM_A.username, FORM_A.email, "@"):
        assert value not in text


def test_blank_form_ticks_no_box_and_has_no_number(blank_pdf: Path, tmp_path: Path) -> None:
    text = _text(blank_pdf)
    assert "☑" not in text
    assert set(_ticks(text).values()) == {"☐"}
    assert "申請編號" not in text and "QR Code" not in text
    assert not re.search(r"M?\d{14}", text), text
    assert _qr_codes(blank_pdf, 1, tmp_path) == []


def test_blank_form_has_the_fields_of_a_filled_one() -> None:
    assert [f.name for f in fields(BlankManagerForm)] == [f.name for f in fields(ManagerFormData)]
    with pytest.raises(TypeError):
        BlankManagerForm(institution_name="臺北虛擬診所")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("stored", "parts"),
    [
        ("02-12345678#123", ("02", "12345678", "123")),
        ("02-12345678", ("02", "12345678", "")),
        ("049-2345678#12", ("049", "2345678", "12")),
        (" 0826-12345 ", ("0826", "12345", "")),
        ("0912345678", ("", "0912345678", "")),
        ("", ("", "", "")),
    ],
)
def test_split_phone(stored: str, parts: tuple[str, str, str]) -> None:
    assert split_phone(stored) == parts


@pytest.mark.parametrize(("kind", "change"), [("A", "promote"), ("B", "demote"), ("C", None)])
def test_kind_and_change_must_agree(kind: str, change: str | None) -> None:
    with pytest.raises(ValueError):
        replace(FORM_A, kind=kind, change=change)


def test_form_names_cannot_leave_the_forms_folder() -> None:
    with pytest.raises(ValueError):
        form_version("../portal")
