"""管理者異動 (forms B and C): filing, the rules, paper review, the card, and withdrawal."""

import base64
import re

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import select

from portal.accounts.models import AccountState, Role, StaffRole
from portal.audit.models import AuditEvent
from portal.changes.models import ChangeKind, ChangeState, ManagerChange
from portal.verification.models import PaperScan
from tests import factories, scanner
from tests.cards.pki import (
    INSTITUTION_CODE,
    gca_card_options,
    issue_card,
    make_authority,
    make_gca_authority,
)
from tests.functional.auth_helpers import login, login_staff, post_form
from tests.functional.helpers import csrf_token, text_of

# A blank sheet scanned at 10 dpi: a real PNG of a few hundred bytes.
PNG = scanner.png(scanner.blank_page(dpi=10))


@pytest.fixture
def clinic(db_session, uploads):
    """A clinic with two managers and a general user."""
    place = factories.institution(code=INSTITUTION_CODE, name="臺北虛擬診所")
    return {
        "institution": place,
        "old": factories.account(
            institution=place,
            role=Role.MANAGER,
            state=AccountState.ACTIVE,
            name="舊管理者",
            email="old@example.org",
        ),
        "new": factories.account(
            institution=place,
            role=Role.MANAGER,
            state=AccountState.ACTIVE,
            name="新管理者",
            email="new@example.org",
            national_id="B123456780",
        ),
        "user": factories.account(
            institution=place,
            role=Role.GENERAL,
            state=AccountState.ACTIVE,
            name="一般同仁",
            email="user@example.org",
            national_id="F131104093",
        ),
    }


def file_change(client, **fields):
    """Post the filing form as the signed-in person; returns the response."""
    return post_form(client, "/manager-changes/new", "/manager-changes/new", fields)


def filed(db_session) -> ManagerChange:
    return db_session.scalar(select(ManagerChange).order_by(ManagerChange.id.desc()))


def upload(client, change, data=PNG, name="scan.png"):
    page = f"/manager-changes/{change.id}"
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(
        f"{page}/scans",
        data={"csrf_token": token, "scan": (__import__("io").BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_a_manager_files_b_for_a_manager_who_left(client, clinic, db_session):
    login(client, clinic["new"].username)
    form = client.get("/manager-changes/new").get_data(as_text=True)
    assert "B. 停用管理者帳號" in form and "舊管理者" in form
    response = file_change(client, kind="deactivate", target_id=clinic["old"].id)
    assert response.status_code == 303
    change = filed(db_session)
    assert (
        change.kind is ChangeKind.DEACTIVATE and change.state is ChangeState.AWAITING_VERIFICATION
    )
    assert change.change_no.startswith("M") and len(change.change_no) == 15
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert change.change_no in page and "舊管理者" in text_of(page, "change-items")
    assert "申請人：請以醫事機構卡驗證" in text_of(page, "waiting-for")
    pdf = client.get(f"/manager-changes/{change.id}/form.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"


def test_a_general_user_may_only_ask_to_become_a_manager(client, clinic, db_session):
    login(client, clinic["user"].username)
    form = client.get("/manager-changes/new").get_data(as_text=True)
    kinds = text_of(form, "kind-field")
    assert "C.a 升為管理者" in kinds and "B. 停用管理者帳號" not in kinds
    refused = file_change(client, kind="deactivate", target_id=clinic["old"].id)
    assert refused.status_code == 422
    assert filed(db_session) is None
    assert file_change(client, kind="promote", target_id=clinic["user"].id).status_code == 303
    assert filed(db_session).items[0].account_id == clinic["user"].id


def test_the_last_manager_cannot_leave_general_users_alone(client, db_session, uploads):
    place = factories.institution()
    only = factories.active_manager(place)
    factories.account(institution=place, role=Role.GENERAL, state=AccountState.ACTIVE)
    login(client, only.username)
    response = file_change(client, kind="deactivate", target_id=only.id)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "沒有任何單位業務管理者" in text_of(page, "kind-error")
    assert "改用交接" in text_of(page, "offer-handover")
    assert filed(db_session) is None
    # Demoting oneself would leave the same gap (and one more general user).
    assert file_change(client, kind="demote", target_id=only.id).status_code == 422


def test_a_handover_keeps_a_manager_and_applies_together(client, clinic, db_session, smtp_sink):
    place = factories.institution()
    only = factories.active_manager(place)
    successor = factories.account(
        institution=place, role=Role.GENERAL, state=AccountState.ACTIVE, name="接任者"
    )
    login(client, only.username)
    response = file_change(
        client,
        kind="handover",
        target_id=only.id,
        handover_action="deactivate",
        successor_id=successor.id,
    )
    assert response.status_code == 303
    change = filed(db_session)
    assert change.kind is ChangeKind.HANDOVER and len(change.items) == 2
    reviewer = factories.staff(StaffRole.HELP_DESK)
    assert upload(client, change).status_code == 303
    helpdesk = client.application.test_client()
    login_staff(helpdesk, reviewer)
    path = f"/review/changes/{change.id}"
    post_form(helpdesk, path, f"{path}/decision", {"decision": "approve", "confirm": "yes"})
    db_session.expire_all()
    assert change.state is ChangeState.APPROVED and change.verified_by == "paper"
    assert only.state is AccountState.DEACTIVATED and successor.role is Role.MANAGER


def test_a_handover_names_a_successor_it_was_offered(client, clinic, db_session):
    login(client, clinic["new"].username)
    stranger = factories.account(state=AccountState.ACTIVE)  # of another institution
    for successor in (stranger.id, 2**31, 2**64, -1):
        refused = file_change(
            client, kind="handover", target_id=clinic["old"].id, successor_id=successor
        )
        assert refused.status_code == 422
        page = refused.get_data(as_text=True)
        assert "請選擇接任管理者" in text_of(page, "successor_id-error")
    assert filed(db_session) is None


def test_a_card_answer_with_no_challenge_of_ours_is_refused(client, clinic, db_session):
    login(client, clinic["new"].username)
    file_change(client, kind="promote", target_id=clinic["user"].id)
    change = filed(db_session)
    page = f"/manager-changes/{change.id}/card"
    for challenge_id in (2**31, 2**64, 0, "x"):
        answer = post_form(client, page, page, {"challenge_id": challenge_id})
        assert answer.status_code == 422
        assert "資料不完整" in answer.get_data(as_text=True)


def test_one_open_change_per_account_names_the_open_one(client, clinic, db_session):
    login(client, clinic["new"].username)
    file_change(client, kind="deactivate", target_id=clinic["old"].id)
    first = filed(db_session)
    again = file_change(client, kind="demote", target_id=clinic["old"].id)
    assert again.status_code == 422
    assert first.change_no in text_of(again.get_data(as_text=True), "target_id-error")
    # Withdrawn, the account is free for another filing.
    post_form(client, f"/manager-changes/{first.id}", f"/manager-changes/{first.id}/withdraw", {})
    db_session.expire_all()
    assert first.state is ChangeState.WITHDRAWN
    assert file_change(client, kind="demote", target_id=clinic["old"].id).status_code == 303


def test_paper_review_applies_b_and_tells_everyone(client, clinic, db_session, smtp_sink):
    login(client, clinic["new"].username)
    file_change(client, kind="deactivate", target_id=clinic["old"].id)
    change = filed(db_session)
    assert upload(client, change).status_code == 303
    db_session.expire_all()
    assert change.state is ChangeState.AWAITING_PAPER_REVIEW
    page = client.get(f"/manager-changes/{change.id}").get_data(as_text=True)
    assert "系統服務窗口" in text_of(page, "waiting-for") and text_of(page, "due-on")
    assert "未能讀取 QR Code" in text_of(page, "upload-history")

    reviewer = factories.staff(StaffRole.HELP_DESK)
    helpdesk = client.application.test_client()
    login_staff(helpdesk, reviewer)
    queue = helpdesk.get("/review?kind=deactivate").get_data(as_text=True)
    assert change.change_no in text_of(queue, "review-queue")
    assert helpdesk.get("/review?kind=A").get_data(as_text=True).count(change.change_no) == 0
    detail = helpdesk.get(f"/review/changes/{change.id}").get_data(as_text=True)
    assert "未能讀取 QR Code，請人工比對" in detail
    smtp_sink.clear()
    done = post_form(
        helpdesk,
        f"/review/changes/{change.id}",
        f"/review/changes/{change.id}/decision",
        {"decision": "approve", "confirm": "yes"},
    )
    assert "異動已生效" in helpdesk.get(done.headers["Location"]).get_data(as_text=True)
    db_session.expire_all()
    assert clinic["old"].state is AccountState.DEACTIVATED
    recipients = {message["To"] for message in smtp_sink.wait_for(2)}
    assert recipients == {"old@example.org", "new@example.org"}
    assert db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == "manager_change.approved")
    )
    # The old manager can no longer sign in.
    gone = client.application.test_client()
    assert login(gone, clinic["old"].username).status_code != 303


def test_a_refusal_is_drawn_as_refused_with_its_reason(client, clinic, db_session, smtp_sink):
    login(client, clinic["new"].username)
    file_change(client, kind="deactivate", target_id=clinic["old"].id)
    change = filed(db_session)
    upload(client, change)
    reviewer = factories.staff(StaffRole.HELP_DESK)
    helpdesk = client.application.test_client()
    login_staff(helpdesk, reviewer)
    path = f"/review/changes/{change.id}"
    missing = post_form(helpdesk, path, f"{path}/decision", {"decision": "refuse"})
    assert "請填寫原因" in text_of(missing.get_data(as_text=True), "reason-error")
    smtp_sink.clear()
    post_form(helpdesk, path, f"{path}/decision", {"decision": "refuse", "reason": "未蓋關防"})
    page = client.get(f"/manager-changes/{change.id}").get_data(as_text=True)
    assert "未蓋關防" in text_of(page, "refusal-reason")
    assert 'class="step-refused"' in page and "（未通過）" in page
    assert "未蓋關防" in smtp_sink.wait_for(1)[0].get_content()
    decided = helpdesk.get("/review?state=refused").get_data(as_text=True)
    assert "未蓋關防" in text_of(decided, "review-queue") and reviewer.name in decided


def test_the_filer_verifies_with_the_card_and_it_applies_at_once(
    app, client, clinic, db_session, tmp_path
):
    root = make_authority("測試醫事憑證根憑證")
    (tmp_path / "root.pem").write_bytes(root.certificate.public_bytes(serialization.Encoding.PEM))
    saved = app.config["CARD_TRUST_ANCHORS_DIR"]
    app.config["CARD_TRUST_ANCHORS_DIR"] = str(tmp_path)
    try:
        login(client, clinic["new"].username)
        file_change(client, kind="promote", target_id=clinic["user"].id)
        change = filed(db_session)
        html = client.get(f"/manager-changes/{change.id}/card").get_data(as_text=True)
        challenge = re.search(r'data-challenge="([^"]+)"', html).group(1)
        challenge_id = re.search(r'name="challenge_id" value="(\d+)"', html).group(1)
        card = issue_card(root)
        signature = card.key.sign(base64.b64decode(challenge), padding.PKCS1v15(), hashes.SHA256())
        response = client.post(
            f"/manager-changes/{change.id}/card",
            data={
                "csrf_token": csrf_token(html),
                "challenge_id": challenge_id,
                "certificate": base64.b64encode(card.certificate_der).decode(),
                "signature": base64.b64encode(signature).decode(),
            },
        )
        assert response.status_code == 303
        db_session.expire_all()
        assert change.state is ChangeState.APPROVED and change.verified_by == "card"
        assert clinic["user"].role is Role.MANAGER
        replay = client.post(
            f"/manager-changes/{change.id}/card",
            data={
                "csrf_token": csrf_token(html),
                "challenge_id": challenge_id,
                "certificate": base64.b64encode(card.certificate_der).decode(),
                "signature": base64.b64encode(signature).decode(),
            },
        )
        assert replay.status_code == 409
    finally:
        app.config["CARD_TRUST_ANCHORS_DIR"] = saved


def test_a_health_bureaus_agency_card_does_not_verify_a_clinics_change(
    app, client, clinic, db_session, tmp_path
):
    gca = make_gca_authority()
    (tmp_path / "gca.pem").write_bytes(gca.certificate.public_bytes(serialization.Encoding.PEM))
    saved = app.config["CARD_GCA_TRUST_ANCHORS_DIR"]
    app.config["CARD_GCA_TRUST_ANCHORS_DIR"] = str(tmp_path)
    try:
        login(client, clinic["new"].username)
        file_change(client, kind="promote", target_id=clinic["user"].id)
        change = filed(db_session)
        html = client.get(f"/manager-changes/{change.id}/card").get_data(as_text=True)
        challenge = re.search(r'data-challenge="([^"]+)"', html).group(1)
        challenge_id = re.search(r'name="challenge_id" value="(\d+)"', html).group(1)
        # Even naming the clinic's own code, a 政府單位憑證卡 verifies only 衛生局 filings.
        card = issue_card(gca, gca_card_options(change.institution.code))
        signature = card.key.sign(base64.b64decode(challenge), padding.PKCS1v15(), hashes.SHA256())
        response = client.post(
            f"/manager-changes/{change.id}/card",
            data={
                "csrf_token": csrf_token(html),
                "challenge_id": challenge_id,
                "certificate": base64.b64encode(card.certificate_der).decode(),
                "signature": base64.b64encode(signature).decode(),
            },
        )
        assert response.status_code == 422
        assert "政府單位憑證卡只能驗證衛生局的申請" in response.get_data(as_text=True)
        db_session.expire_all()
        assert change.state is not ChangeState.APPROVED
        assert clinic["user"].role is not Role.MANAGER
    finally:
        app.config["CARD_GCA_TRUST_ANCHORS_DIR"] = saved


def test_the_card_path_can_be_turned_off(app, client, clinic, db_session):
    app.config["MANAGER_CHANGE_CARD_ENABLED"] = False
    try:
        login(client, clinic["new"].username)
        file_change(client, kind="deactivate", target_id=clinic["old"].id)
        change = filed(db_session)
        page = client.get(f"/manager-changes/{change.id}").get_data(as_text=True)
        assert "verify-by-card" not in page and "download-form" in page
        assert client.get(f"/manager-changes/{change.id}/card").status_code == 404
    finally:
        app.config["MANAGER_CHANGE_CARD_ENABLED"] = True


def test_others_cannot_see_or_act_on_a_filing(client, clinic, db_session):
    login(client, clinic["new"].username)
    file_change(client, kind="deactivate", target_id=clinic["old"].id)
    change = filed(db_session)
    stranger = factories.active_manager(factories.institution())
    other = client.application.test_client()
    login(other, stranger.username)
    assert other.get(f"/manager-changes/{change.id}").status_code == 404
    assert other.get(f"/manager-changes/{change.id}/form.pdf").status_code == 404
    assert other.get("/manager-changes/99999999999").status_code == 404


def test_the_scan_must_carry_this_filings_qr_code(client, clinic, db_session):
    """The right form is matched; another filing's form is refused at once; an unreadable
    code is kept and flagged for the reviewer."""
    login(client, clinic["new"].username)
    file_change(client, kind="deactivate", target_id=clinic["old"].id)
    first = filed(db_session)
    file_change(client, kind="promote", target_id=clinic["user"].id)
    second = filed(db_session)
    own_pdf = client.get(f"/manager-changes/{first.id}/form.pdf").data
    other_pdf = client.get(f"/manager-changes/{second.id}/form.pdf").data

    wrong = upload(client, first, scanner.jpeg(scanner.scan(other_pdf, dpi=150)), "other.jpg")
    assert wrong.status_code == 422
    message = text_of(wrong.get_data(as_text=True), "scan-error")
    assert second.change_no in message and first.change_no in message
    db_session.expire_all()
    assert first.state is ChangeState.AWAITING_VERIFICATION

    assert (
        upload(
            client, first, scanner.image_pdf(scanner.scan(own_pdf, dpi=150), dpi=150), "ok.pdf"
        ).status_code
        == 303
    )
    assert (
        upload(client, first, scanner.png(scanner.blank_page(dpi=100)), "blank.png").status_code
        == 303
    )
    statuses = [
        scan.qr_status
        for scan in db_session.scalars(
            select(PaperScan).where(PaperScan.change_id == first.id).order_by(PaperScan.id)
        )
    ]
    assert statuses == ["matched", "unreadable"]


def test_progress_lookup_and_my_account_show_the_filing(client, clinic, db_session):
    login(client, clinic["new"].username)
    file_change(client, kind="deactivate", target_id=clinic["old"].id)
    change = filed(db_session)
    mine = client.get("/account").get_data(as_text=True)
    assert change.change_no in text_of(mine, "my-changes")
    assert "待機構驗證" in text_of(mine, "my-changes")
    anonymous = client.application.test_client()
    page = anonymous.get("/applications/status").get_data(as_text=True)
    found = anonymous.post(
        "/applications/status",
        data={
            "csrf_token": csrf_token(page),
            "application_no": change.change_no.lower(),
            "national_id": "B123456780",
        },
    )
    assert found.status_code == 200
    html = found.get_data(as_text=True)
    assert change.change_no in text_of(html, "status-heading")
    assert "申請人：請以醫事機構卡驗證" in text_of(html, "waiting-for")
    stranger = anonymous.post(
        "/applications/status",
        data={
            "csrf_token": csrf_token(page),
            "application_no": change.change_no,
            "national_id": "Y135782908",
        },
    )
    assert stranger.status_code == 404


@pytest.mark.parametrize("kind", ["deactivate", "promote", "demote", "handover"])
def test_each_kind_goes_through_the_help_desk(client, clinic, db_session, kind):
    fields = {
        "deactivate": {"target_id": clinic["old"].id},
        "promote": {"target_id": clinic["user"].id},
        "demote": {"target_id": clinic["old"].id},
        "handover": {
            "target_id": clinic["old"].id,
            "handover_action": "deactivate",
            "successor_id": clinic["user"].id,
        },
    }[kind]
    login(client, clinic["new"].username)
    assert file_change(client, kind=kind, **fields).status_code == 303
    change = filed(db_session)
    pdf = client.get(f"/manager-changes/{change.id}/form.pdf").data
    scan = scanner.jpeg(scanner.scan(pdf, dpi=150))
    assert upload(client, change, scan, "scan.jpg").status_code == 303
    helpdesk = client.application.test_client()
    login_staff(helpdesk, factories.staff(StaffRole.HELP_DESK))
    queue = helpdesk.get(f"/review?kind={kind}").get_data(as_text=True)
    assert change.change_no in text_of(queue, "review-queue")
    detail = helpdesk.get(f"/review/changes/{change.id}").get_data(as_text=True)
    assert "QR Code 與申請編號相符" in detail
    path = f"/review/changes/{change.id}"
    post_form(helpdesk, path, f"{path}/decision", {"decision": "approve", "confirm": "yes"})
    db_session.expire_all()
    assert change.state is ChangeState.APPROVED
    old, user = clinic["old"], clinic["user"]
    assert {
        "deactivate": old.state is AccountState.DEACTIVATED,
        "promote": user.role is Role.MANAGER,
        "demote": old.role is Role.GENERAL,
        "handover": old.state is AccountState.DEACTIVATED and user.role is Role.MANAGER,
    }[kind]


def test_queue_counts_follow_the_kind_filter(client, clinic, db_session):
    login(client, clinic["new"].username)
    file_change(client, kind="deactivate", target_id=clinic["old"].id)
    upload(client, filed(db_session))
    file_change(client, kind="promote", target_id=clinic["user"].id)
    upload(client, filed(db_session))
    helpdesk = client.application.test_client()
    login_staff(helpdesk, factories.staff(StaffRole.HELP_DESK))
    every = helpdesk.get("/review").get_data(as_text=True)
    assert text_of(every, "count-awaiting_paper_review") == "2"
    only_b = helpdesk.get("/review?kind=deactivate").get_data(as_text=True)
    assert text_of(only_b, "count-awaiting_paper_review") == "1"
    assert "紙本審核中" in text_of(only_b, "state-counts")


def test_queue_counts_stop_at_the_cap(client, db_session, monkeypatch):
    from portal.review import services as review_services

    monkeypatch.setattr(review_services, "COUNT_CAP", 2)
    for _ in range(3):
        application = factories.application(
            factories.account(role=Role.MANAGER), state="awaiting_paper_review"
        )
        factories.paper_scan(application)
    helpdesk = client.application.test_client()
    login_staff(helpdesk, factories.staff(StaffRole.HELP_DESK))
    page = helpdesk.get("/review").get_data(as_text=True)
    assert text_of(page, "count-awaiting_paper_review") == "2+"
