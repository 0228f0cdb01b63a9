"""The card helper as a clinic installs it: the built package in 下載專區, its install page,
and the card page that sends a clerk there instead of showing a command line."""

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from card_helper import __version__
from portal.content.models import Download
from tests.functional.helpers import text_of
from tests.functional.test_card_kinds_portal import manager_application
from tests.functional.test_card_verification import open_card_page

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    """`make card-helper`, building into a temporary folder."""
    work = tmp_path_factory.mktemp("card-helper")
    subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-s",
            # Build only: never reinstall the virtualenv from inside a test.
            "-o",
            ".venv/.installed",
            "card-helper",
            f"CARD_HELPER_BUILD={work / 'build'}",
            f"BUILT_DOWNLOADS_DIR={work / 'downloads'}",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return work / "downloads" / "card-helper.zip"


def test_the_package_holds_the_helper_and_its_install_notes(package, tmp_path):
    with zipfile.ZipFile(package) as archive:
        names = set(archive.namelist())
        archive.extract("card-helper.pyz", tmp_path)
        assert archive.read("VERSION").decode().strip() == __version__
        notes = archive.read("INSTALL.txt").decode()
    assert {"card-helper.service", "card-helper.desktop", "card-helper-startup.cmd"} <= names
    assert "schtasks /Create /SC ONLOGON" in notes and "shell:startup" in notes
    assert "systemctl --user enable --now card-helper.service" in notes
    assert "~/.config/autostart" in notes
    # The zipapp runs on its own, outside the source tree.
    shown = subprocess.run(
        [sys.executable, str(tmp_path / "card-helper.pyz"), "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == f"card-helper {__version__}"


def test_downloads_lists_the_built_package_with_version_and_sha256(
    client, db_session, app, package
):
    helper = db_session.scalar(select(Download).where(Download.builtin_key == "card-helper"))
    saved = app.config["BUILT_DOWNLOADS_DIR"]
    app.config["BUILT_DOWNLOADS_DIR"] = str(package.parent)
    try:
        row = text_of(client.get("/downloads").get_data(as_text=True), f"download-{helper.id}")
        assert f"版本 {__version__}" in row
        assert hashlib.sha256(package.read_bytes()).hexdigest() in row
        assert client.get(f"/downloads/{helper.id}/file").data == package.read_bytes()
    finally:
        app.config["BUILT_DOWNLOADS_DIR"] = saved


def test_the_install_page_gives_windows_and_linux_steps(client):
    response = client.get("/verification/card-helper")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "安裝機構卡讀卡程式" in html and 'href="/downloads"' in html
    assert "schtasks /Create /SC ONLOGON" in html and "shell:startup" in html
    assert "systemctl --user enable --now card-helper.service" in html
    assert "--origin http://localhost" in html  # the portal's own origin, ready to paste
    assert "1.1.0" in html


def test_the_card_page_waits_for_the_helper_and_never_shows_a_command(client, db_session):
    html, _, _ = open_card_page(client, manager_application("3501200000", "診所"))
    assert "python -m card_helper" not in html and "<pre>" not in html
    assert 'id="pin"' in html and "disabled>" in html.split('id="pin"')[1].split("\n")[0]
    assert 'id="verify-card" disabled' in html
    missing = text_of(html, "helper-missing")
    assert "機構卡驗證元件" in missing and "下載專區" in missing
    assert 'href="/downloads" id="helper-download"' in html
    assert 'data-helper-min-version="1.1.0"' in html
