"""A manager change's printed form over HTTP: a page per person, each with the filing number."""

import re
import subprocess

import pytest
from sqlalchemy import select

from portal.accounts.models import AccountState, Role
from portal.changes.models import ManagerChange
from tests import factories
from tests.functional.auth_helpers import login, post_form


def _pages(pdf_path) -> list[str]:
    """Each page's text laid out as on the page."""
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return [page for page in text.split("\f") if page.strip()]


def _qr_codes(pdf_path, page: int, folder) -> list[str]:
    """What zbar reads from one page, drawn at 150 dpi as a scanner would."""
    image = folder / f"page-{page}"
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-f", str(page), "-l", str(page), "-singlefile"]
        + [str(pdf_path), str(image)],
        check=True,
    )
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", f"{image}.png"], capture_output=True, text=True, check=False
    )
    return result.stdout.split()


@pytest.mark.parametrize(
    ("outgoing_action", "outgoing_ticks"),
    [
        ("deactivate", [r"☑\s*B\. 停用管理者帳號"]),
        ("demote", [r"☑\s*C\.", r"☑\s*b\. 降為一般使用者"]),
    ],
)
def test_a_hand_over_prints_a_page_per_person(
    client, db_session, tmp_path, outgoing_action, outgoing_ticks
):
    place = factories.institution(name="臺北虛擬診所")
    leaving = factories.active_manager(place)
    leaving.name, leaving.department = "舊管理者", "家醫科"
    successor = factories.account(
        institution=place,
        role=Role.GENERAL,
        state=AccountState.ACTIVE,
        name="接任者",
        department="社區醫學部",
        national_id="B123456780",
    )
    db_session.flush()
    login(client, leaving.username)
    filing = {
        "kind": "handover",
        "target_id": leaving.id,
        "handover_action": outgoing_action,
        "successor_id": successor.id,
    }
    assert (
        post_form(client, "/manager-changes/new", "/manager-changes/new", filing).status_code == 303
    )
    change = db_session.scalar(select(ManagerChange))
    response = client.get(f"/manager-changes/{change.id}/form.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = tmp_path / "handover.pdf"
    pdf.write_bytes(response.data)

    pages = _pages(pdf)
    assert len(pages) == 2
    by_person = {("舊管理者" if "舊管理者" in page else "接任者"): page for page in pages}
    assert set(by_person) == {"舊管理者", "接任者"}
    outgoing, incoming = by_person["舊管理者"], by_person["接任者"]
    for tick in outgoing_ticks:
        assert re.search(tick, outgoing), outgoing
    assert outgoing.count("☑") == len(outgoing_ticks)
    assert re.search(r"☑\s*C\. 異動管理者帳號權限.*\n.*☑\s*a\. 升為管理者", incoming), incoming
    assert incoming.count("☑") == 2
    assert re.search(r"機構、部門\s+家醫科", outgoing) and "接任者" not in outgoing
    assert re.search(r"機構、部門\s+社區醫學部", incoming) and "B12345****" in incoming
    for number, page in enumerate(pages, start=1):
        assert "衛生福利部國民健康署" in page and "臺北虛擬診所" in page
        assert len(re.findall(rf"{change.change_no}\b", page)) == 2  # masthead and footer
        assert _qr_codes(pdf, number, tmp_path) == [change.change_no]
