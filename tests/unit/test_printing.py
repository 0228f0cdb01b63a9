"""Unit tests for portal.printing: the 管理者帳號申請、異動表 PDF, read back by poppler and zbar."""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from portal import printing
from portal.printing import FORMS_DIR, form_version, render_manager_form, split_phone
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
    assert re.search(r"（\s*02\s*）\s*12345678\s+分機\s+123", text)


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
