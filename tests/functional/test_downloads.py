"""Public downloads: the blank 管理者帳號申請、異動表 at a stable URL, for anyone."""

import re
import subprocess
from urllib.parse import unquote

import pytest

from portal.content import downloads
from tests.functional.helpers import text_of

URL = "/downloads/manager-change-form.pdf"


def test_blank_form_is_an_anonymous_pdf_attachment(client, tmp_path):
    response = client.get(URL)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="manager-change-form.pdf"' in disposition
    encoded = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition)
    assert encoded and encoded.group(1).isascii(), disposition
    assert unquote(encoded.group(1), errors="strict") == "管理者帳號申請、異動表.pdf"
    pdf = tmp_path / "blank.pdf"
    pdf.write_bytes(response.data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "衛生福利部國民健康署" in text and "管理者帳號申請、異動表" in text
    assert "☐ A. 初次管理者帳號申請" in text and "☑" not in text
    assert "申請編號" not in text


def test_blank_form_may_be_kept_by_anyone_for_a_day(client):
    response = client.get(URL)
    assert response.cache_control.public
    assert response.cache_control.max_age == 24 * 60 * 60
    assert not response.cache_control.private and not response.cache_control.no_store
    # Nothing personal in it, and no session cookie set that a shared cache would keep.
    assert "Set-Cookie" not in response.headers
    again = client.get(URL, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_blank_form_is_rendered_once_per_process(client, monkeypatch):
    renders = []

    def counting_render() -> bytes:
        renders.append(1)
        return b"%PDF-1.7 blank form"

    monkeypatch.setattr(downloads, "render_blank_manager_form", counting_render)
    downloads.blank_manager_form_pdf.cache_clear()
    try:
        first, second = client.get(URL), client.get(URL)
    finally:
        downloads.blank_manager_form_pdf.cache_clear()
    assert first.data == second.data == b"%PDF-1.7 blank form"
    assert len(renders) == 1


def test_home_page_links_to_the_blank_form(client):
    html = client.get("/").get_data(as_text=True)
    assert "要手寫填表者" in text_of(html, "blank-form-download")
    assert f'href="{URL}"' in html


@pytest.mark.parametrize(
    ("filename", "fallback"),
    [("管理者帳號申請、異動表.pdf", "表單.pdf"), ("a.pdf", 'a".pdf'), ("a.pdf", "a\\.pdf")],
)
def test_the_fallback_name_must_be_plain_ascii(filename, fallback):
    with pytest.raises(ValueError):
        downloads.attachment_disposition(filename, fallback)
