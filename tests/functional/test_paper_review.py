"""紙本審核: the printed form, the stamped scan, and the help desk's decision."""

import io
import re
import subprocess
from datetime import UTC, datetime
from functools import partial
from html import unescape
from urllib.parse import quote

import pyotp
import pytest
from sqlalchemy import func, select

from portal.accounts.models import AccountState, Role, StaffRole
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.printing import render_manager_form
from portal.registration.models import Application, ApplicationState
from portal.security.encryption import decrypt_text
from portal.verification.models import PaperScan
from portal.verification.views import form_data
from tests import factories, hostile, scanner
from tests.functional.auth_helpers import login, login_staff, post_form
from tests.functional.helpers import at_once, csrf_token, text_of

# A blank sheet scanned at 10 dpi: a real PNG of a few hundred bytes.
PNG = scanner.png(scanner.blank_page(dpi=10))
PDF_HEAD = b"%PDF-1.4\n"
MIB = 1024 * 1024


@pytest.fixture
def application(db_session, uploads):
    clinic = factories.institution(name="臺北虛擬診所", code="3501200000")
    manager = factories.account(
        institution=clinic,
        role=Role.MANAGER,
        national_id="B123456780",
        name="王小美",
        email="wang@example.org",
        phone="02-23456789#12",
        department="家醫科",
    )
    return factories.application(manager)


def unlock(client, application, national_id="B123456780"):
    page = client.get("/applications/status").get_data(as_text=True)
    client.post(
        "/applications/status",
        data={
            "csrf_token": csrf_token(page),
            "application_no": application.application_no,
            "national_id": national_id,
        },
    )


def upload(client, content: bytes, filename: str):
    page = client.get("/verification/paper").get_data(as_text=True)
    return client.post(
        "/verification/paper",
        data={"csrf_token": csrf_token(page), "scan": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def test_printed_form_carries_the_application(client, application, tmp_path):
    unlock(client, application)
    response = client.get("/verification/paper/form.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    pdf = tmp_path / "form.pdf"
    pdf.write_bytes(response.data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        "管理者帳號申請、異動表",
        "臺北虛擬診所",
        "3501200000",
        "王小美",
        application.application_no,
        "B12345****",
    ):
        assert expected in text
    assert re.search(r"機構、部門\s+家醫科", text), text
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    qr = subprocess.run(
        ["zbarimg", "--raw", "-q", str(tmp_path / "page.png")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert qr == application.application_no


def test_paper_page_offers_the_blank_form_too(client, application):
    unlock(client, application)
    html = client.get("/verification/paper").get_data(as_text=True)
    assert "要手寫填表者" in text_of(html, "blank-form-download")
    assert 'href="/downloads/manager-change-form.pdf"' in html


def test_upload_of_exactly_ten_mib_goes_to_the_queue(client, application, uploads, db_session):
    unlock(client, application)
    response = upload(client, hostile.pdf_of_size(10 * MIB), "stamped.pdf")
    assert response.status_code == 303
    db_session.expire_all()
    assert application.state is ApplicationState.AWAITING_PAPER_REVIEW
    scan = db_session.scalar(select(PaperScan))
    assert scan.size == 10 * MIB and scan.content_type == "application/pdf"
    stored = uploads / scan.stored_name
    assert stored.stat().st_size == 10 * MIB
    assert scan.original_name == "stamped.pdf" and "stamped" not in scan.stored_name


def test_one_byte_over_is_refused_with_a_message(client, application, db_session):
    unlock(client, application)
    response = upload(client, PDF_HEAD + b"0" * (10 * MIB + 1 - len(PDF_HEAD)), "big.pdf")
    assert response.status_code == 422
    assert "超過 10 MB" in text_of(response.get_data(as_text=True), "scan-error")
    assert db_session.scalar(select(func.count()).select_from(PaperScan)) == 0


def test_type_comes_from_the_content_not_the_name(client, application, db_session):
    unlock(client, application)
    assert upload(client, PNG, "scan.pdf").status_code == 303
    assert db_session.scalar(select(PaperScan.content_type)) == "image/png"
    html = upload(client, b"<html><script>alert(1)</script></html>", "photo.jpg")
    assert html.status_code == 422
    assert "只接受 PDF、JPEG 或 PNG" in text_of(html.get_data(as_text=True), "scan-error")


def test_a_path_like_name_stays_a_name(client, application, uploads, db_session):
    unlock(client, application)
    assert upload(client, PNG, "../../../etc/passwd.png").status_code == 303
    scan = db_session.scalar(select(PaperScan))
    assert scan.original_name == "passwd.png"
    assert [p.name for p in uploads.iterdir()] == [scan.stored_name]


def test_earlier_uploads_are_kept(client, application, db_session):
    unlock(client, application)
    upload(client, PNG, "first.png")
    db_session.expire_all()
    queued_since = application.step_started_at
    upload(client, PNG, "second.png")
    page = client.get("/verification/paper").get_data(as_text=True)
    history = text_of(page, "upload-history")
    assert "first.png" in history and "second.png" in history
    # A second scan while the first waits keeps the place in the queue (and the due date).
    db_session.expire_all()
    assert application.step_started_at == queued_since


def test_a_damaged_pdf_is_refused_and_leaves_nothing(client, application, uploads, db_session):
    unlock(client, application)
    response = upload(client, PDF_HEAD + b"not really a pdf", "broken.pdf")
    assert response.status_code == 422
    assert "無法讀取這個 PDF 檔" in text_of(response.get_data(as_text=True), "scan-error")
    assert db_session.scalar(select(func.count()).select_from(PaperScan)) == 0
    assert not uploads.exists() or not any(uploads.iterdir())


def test_status_page_shows_each_step(client, application):
    unlock(client, application)
    upload(client, PNG, "scan.png")
    page = client.get("/applications/status").get_data(as_text=True)
    response = client.post(
        "/applications/status",
        data={
            "csrf_token": csrf_token(page),
            "application_no": application.application_no,
            "national_id": "B123456780",
        },
    )
    html = response.get_data(as_text=True)
    assert text_of(html, "application-state") == "紙本審核中"
    assert "系統服務窗口" in text_of(html, "waiting-for")
    assert text_of(html, "due-on")


@pytest.fixture
def reviewer(db_session):
    return factories.staff(StaffRole.HELP_DESK)


def paper_application(name, uploaded_at, institution=None):
    manager = factories.account(
        role=Role.MANAGER, name=name, institution=institution or factories.institution()
    )
    application = factories.application(
        manager, state=ApplicationState.AWAITING_PAPER_REVIEW, step_started_at=uploaded_at
    )
    factories.paper_scan(application)
    return application


def test_queue_is_sorted_by_due_date_and_marks_overdue(client, reviewer, uploads):
    late = paper_application("逾期者", datetime(2020, 1, 2, 2, tzinfo=UTC))
    fresh = paper_application("新案", datetime.now(UTC))
    login_staff(client, reviewer)
    response = client.get("/review")
    html = response.get_data(as_text=True)
    queue = text_of(html, "review-queue")
    assert queue.index("逾期者") < queue.index("新案")
    assert late.application_no in queue and fresh.application_no in queue
    assert "已逾期" in queue.split("新案")[0]
    assert "2020-01-07" in queue  # Thu 2 Jan 2020 + 3 working days (weekend skipped)
    assert "HX-Request" in response.headers["Vary"]


def test_queue_filters_and_pages_with_htmx(client, reviewer, uploads, db_session):
    clinic = factories.institution()
    for number in range(27):
        paper_application(
            f"申請人{number:02d}", datetime(2026, 1, 5, 2, number, tzinfo=UTC), institution=clinic
        )
    paper_application("他院", datetime(2026, 1, 5, 3, tzinfo=UTC))
    login_staff(client, reviewer)
    first = client.get(f"/review?institution_code={clinic.code}").get_data(as_text=True)
    assert "他院" not in first and "申請人24" in first and "申請人25" not in first
    assert 'id="queue-more"' in first
    fragment = client.get(more_link(first), headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<tbody id="queue-page-2"')
    assert "申請人25" in fragment and "申請人26" in fragment and "queue-more" not in fragment
    assert "申請人24" not in fragment and "他院" not in fragment


def more_link(html: str) -> str:
    """Where the page's "載入更多" leads."""
    match = re.search(r'<tr id="queue-more">.*?hx-get="([^"]+)"', html, re.S)
    assert match, "no 載入更多 on the page"
    return unescape(match.group(1))


def test_queue_pages_neither_skip_nor_repeat_rows_uploaded_at_one_moment(
    client, reviewer, uploads, db_session
):
    # 60 uploads in the same second: the next page must go on by id, not by time alone.
    moment = datetime(2026, 2, 2, 2, tzinfo=UTC)
    expected = [
        paper_application(f"同時{number:02d}", moment).application_no for number in range(60)
    ]
    login_staff(client, reviewer)
    html = client.get("/review").get_data(as_text=True)
    pages = [html]
    while 'id="queue-more"' in html:
        html = client.get(more_link(html), headers={"HX-Request": "true"}).get_data(as_text=True)
        pages.append(html)
    seen = [number for page in pages for number in re.findall(r">(\d{14})</a>", page)]
    assert len(pages) == 3
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))


def test_queue_with_a_made_up_position_shows_the_first_page(client, reviewer, uploads):
    paper_application("第一位", datetime(2026, 2, 2, 2, tzinfo=UTC))
    login_staff(client, reviewer)
    # The last two are no moment in UTC, where the database compares them.
    made_up = [
        "nonsense",
        "2026-02-02T02:00:00_x",
        "2026-02-02T02:00:00_1",
        "_" * 500,
        quote("0001-01-01T00:00:00+14:00_A1"),
        quote("9999-12-31T23:59:59-14:00_A1"),
    ]
    for after in made_up:
        response = client.get(f"/review?after={after}&page=7", headers={"HX-Request": "true"})
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert html.lstrip().startswith('<tbody id="queue-page-1"') and "第一位" in html


def test_queue_tabs_count_paper_filings_only(client, reviewer, uploads, db_session):
    for number in range(2):
        paper_application(f"待審{number}", datetime(2026, 3, 2, 2, number, tzinfo=UTC))
    approved = paper_application("已核准", datetime(2026, 3, 2, 3, tzinfo=UTC))
    approved.state = ApplicationState.APPROVED
    # Decided without paper: by a card, or a general user by their manager.
    factories.application(factories.account(role=Role.MANAGER), state=ApplicationState.APPROVED)
    factories.application(state=ApplicationState.REFUSED)
    db_session.flush()
    login_staff(client, reviewer)
    html = client.get("/review").get_data(as_text=True)
    assert text_of(html, "count-awaiting_paper_review") == "2"
    assert text_of(html, "count-approved") == "1"
    assert text_of(html, "count-refused") == "0"


def test_detail_shows_the_scan_and_reveals_the_id_on_record(
    client, reviewer, application, uploads, db_session
):
    unlock(client, application)
    upload(client, hostile.pdf_of_pages(1), "stamped.pdf")
    login_staff(client, reviewer)
    html = client.get(f"/review/{application.id}").get_data(as_text=True)
    assert "B12345****" in text_of(html, "national-id")
    scan = db_session.scalar(select(PaperScan))
    download = client.get(f"/review/{application.id}/scans/{scan.id}")
    assert download.headers["Content-Disposition"].startswith("attachment")
    token = csrf_token(html)
    revealed = client.post(
        f"/review/{application.id}/national-id",
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert revealed.get_data(as_text=True).lstrip().startswith('<dd id="national-id">')
    assert "B123456780" in revealed.get_data(as_text=True)
    assert db_session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "national_id.revealed", AuditEvent.actor_account_id == reviewer.id
        )
    )


def test_preview_of_a_real_pdf_scan(client, reviewer, application, db_session):
    unlock(client, application)
    upload(client, render_manager_form(form_data(application)), "stamped.pdf")
    login_staff(client, reviewer)
    scan = db_session.scalar(select(PaperScan))
    preview = client.get(f"/review/{application.id}/scans/{scan.id}/preview.png")
    assert preview.status_code == 200 and preview.data.startswith(b"\x89PNG")


def test_refusal_then_new_upload_then_approval(
    client, reviewer, application, smtp_sink, db_session
):
    applicant = client.application.test_client()
    unlock(applicant, application)
    upload(applicant, PNG, "blurry.png")
    login_staff(client, reviewer)
    path = f"/review/{application.id}"
    missing = post_form(client, path, f"{path}/decision", {"decision": "refuse"})
    assert "請填寫原因" in text_of(missing.get_data(as_text=True), "reason-error")
    post_form(client, path, f"{path}/decision", {"decision": "refuse", "reason": "關防不清楚"})
    db_session.expire_all()
    assert application.state is ApplicationState.REFUSED
    assert "關防不清楚" in smtp_sink.wait_for(1)[0].get_content()
    assert "關防不清楚" in text_of(
        applicant.get("/verification/paper").get_data(as_text=True), "paper-state"
    )
    assert upload(applicant, PNG, "clear.png").status_code == 303
    db_session.expire_all()
    assert application.state is ApplicationState.AWAITING_PAPER_REVIEW
    unconfirmed = post_form(client, path, f"{path}/decision", {"decision": "approve"})
    assert unconfirmed.status_code == 422
    assert "請先勾選確認" in text_of(unconfirmed.get_data(as_text=True), "confirm-error")
    db_session.expire_all()
    assert application.state is ApplicationState.AWAITING_PAPER_REVIEW
    approved = post_form(
        client, path, f"{path}/decision", {"decision": "approve", "confirm": "yes"}
    )
    assert "已核准" in client.get(approved.headers["Location"]).get_data(as_text=True)
    db_session.expire_all()
    assert application.state is ApplicationState.APPROVED
    assert application.account.state is AccountState.ACTIVE
    assert "已啟用" in smtp_sink.wait_for(2)[-1]["Subject"]


def test_two_reviewers_at_once_make_one_decision(live_app, tmp_path):
    live_app.config["UPLOAD_DIR"] = str(tmp_path)
    with live_app.app_context():
        first, second = factories.staff(StaffRole.HELP_DESK), factories.staff(StaffRole.HELP_DESK)
        application = paper_application("搶案", datetime.now(UTC))
        db.session.commit()
        application_id = application.id
        reviewers = [(p.username, decrypt_text(p.totp_secret_encrypted)) for p in (first, second)]
    clients = [live_app.test_client(), live_app.test_client()]
    posts = []
    for client, (username, secret) in zip(clients, reviewers, strict=True):
        login(client, username)
        page = client.get("/login/second-factor").get_data(as_text=True)
        client.post(
            "/login/second-factor",
            data={"csrf_token": csrf_token(page), "code": pyotp.TOTP(secret).now()},
        )
    for client, decision in zip(clients, ("approve", "refuse"), strict=True):
        token = csrf_token(client.get(f"/review/{application_id}").get_data(as_text=True))
        data = {"csrf_token": token, "decision": decision, "reason": "重複", "confirm": "yes"}
        posts.append(partial(client.post, f"/review/{application_id}/decision", data=data))
    results = at_once(*posts)
    assert all(response.status_code == 303 for response in results)
    loser = [r for r in results if "/review/" in r.headers["Location"]]
    assert len(loser) == 1
    assert "已由其他審核人員處理" in clients[results.index(loser[0])].get(
        loser[0].headers["Location"]
    ).get_data(as_text=True)
    with live_app.app_context():
        decisions = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action.in_(["verification.paper_approved", "verification.paper_refused"])
            )
        )
        assert decisions == 1
        assert db.session.get(Application, application_id).state in (
            ApplicationState.APPROVED,
            ApplicationState.REFUSED,
        )


def test_help_desk_only(client, application, db_session):
    admin = factories.staff(StaffRole.SUBSYSTEM_ADMIN, ("cessation",))
    login_staff(client, admin)
    assert client.get("/review").status_code == 403
    assert client.get(f"/review/{application.id}").status_code == 403
    assert (
        re.search(
            r"紙本審核", text_of(client.get("/account").get_data(as_text=True), "main-nav") or ""
        )
        is None
    )


def test_a_scan_of_another_applications_form_is_refused(client, application, db_session):
    """Form A too: the QR code on the scan must be this application's number."""
    other = factories.application(
        factories.account(institution=application.institution, role=Role.MANAGER)
    )
    unlock(client, application)
    own_pdf = client.get("/verification/paper/form.pdf").data
    other_pdf = render_manager_form(form_data(other))
    wrong = upload(client, scanner.jpeg(scanner.scan(other_pdf)), "other.jpg")
    assert wrong.status_code == 422
    assert other.application_no in text_of(wrong.get_data(as_text=True), "scan-error")
    assert upload(client, scanner.jpeg(scanner.scan(own_pdf)), "mine.jpg").status_code == 303
    scan = db_session.scalar(select(PaperScan).where(PaperScan.application_id == application.id))
    assert scan.qr_status == "matched"
