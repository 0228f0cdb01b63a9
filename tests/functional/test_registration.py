"""帳號申請 through HTTP: what the applicant sees and what the database holds."""

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Account, AccountState, Role
from portal.audit.models import AuditEvent
from portal.registration.models import Application, ApplicationState
from portal.subsystems.models import RequestState
from tests import factories
from tests.functional.helpers import csrf_token, hidden_value, input_value, text_of


def registration_page(client):
    response = client.get("/register")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return html


def valid_form(client, **overrides) -> dict:
    html = registration_page(client)
    form = {
        "csrf_token": csrf_token(html),
        "submission_token": hidden_value(html, "submission_token"),
        "institution_code": "",
        "role": "manager",
        "username": "chen.clinic01",
        "password": factories.STRONG_PASSWORD,
        "password_confirm": factories.STRONG_PASSWORD,
        "national_id": "A123456789",
        "name": "陳小明",
        "department": "家醫科",
        "phone": "02-12345678#123",
        "mobile": "0912-345678",
        "email": "chen@example.org",
        "subsystems": ["cessation", "oral-cancer"],
    }
    form.update(overrides)
    return form


@pytest.fixture
def clinic(db_session):
    return factories.institution(name="臺北虛擬診所測試")


def test_registration_page_has_the_contract_fields(client):
    html = registration_page(client)
    for name in (
        "institution_code",
        "role",
        "username",
        "password",
        "password_confirm",
        "national_id",
        "name",
        "department",
        "phone",
        "mobile",
        "email",
        "subsystems",
    ):
        assert f'name="{name}"' in html
    assert 'id="password-strength"' in html
    assert "戒菸服務系統" in html and "篩檢結果查詢" in html


def test_manager_application_is_stored_with_requests_and_mail(
    client, clinic, db_session, smtp_sink
):
    form = valid_form(client, institution_code=clinic.code)
    response = client.post("/register", data=form)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    number = text_of(page, "application-no")
    assert text_of(page, "masked-national-id") == "A12345****"
    assert "A123456789" not in page
    application = db_session.scalar(select(Application).where(Application.application_no == number))
    assert application.state is ApplicationState.AWAITING_VERIFICATION
    account = application.account
    assert account.state is AccountState.PENDING and account.role is Role.MANAGER
    assert account.password_hash.startswith("$argon2id$")
    assert "A123456789" not in account.national_id_encrypted
    assert sorted(r.subsystem.code for r in account.subsystem_requests) == [
        "cessation",
        "oral-cancer",
    ]
    assert all(r.state is RequestState.PENDING for r in account.subsystem_requests)
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.subject_id == number))
    assert event.action == "application.submitted"
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "chen@example.org"
    assert number in mail["Subject"] and number in mail.get_content()


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("  家醫科  ", "家醫科"), ("家" * 100, "家" * 100), ("", None), ("   ", None)],
)
def test_department_is_stored_trimmed_and_optional(client, clinic, db_session, typed, stored):
    form = valid_form(client, institution_code=clinic.code, department=typed)
    assert client.post("/register", data=form).status_code == 303
    account = db_session.scalar(select(Account).where(Account.username == "chen.clinic01"))
    assert account.department == stored


def test_double_submission_makes_one_application(client, clinic, db_session, smtp_sink):
    form = valid_form(client, institution_code=clinic.code)
    first = client.post("/register", data=form)
    first_page = client.get(first.headers["Location"]).get_data(as_text=True)
    second = client.post("/register", data=form)
    assert first.status_code == second.status_code == 303
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert text_of(page, "application-no") == text_of(first_page, "application-no")
    assert db_session.scalar(select(func.count()).select_from(Application)) == 1
    # Mail goes out before the response: by now every message sent is in the sink.
    assert len(smtp_sink.messages) == 1


@pytest.mark.parametrize("token", ["", "x" * 5_000, "../../etc", "好" * 43])
def test_a_tampered_submission_token_still_submits(client, clinic, db_session, token):
    form = valid_form(client, institution_code=clinic.code, submission_token=token)
    response = client.post("/register", data=form)
    assert response.status_code == 303
    stored = db_session.scalar(select(Application))
    assert stored is not None and len(stored.submission_token) == 43


def test_general_user_refused_where_no_manager(client, clinic, db_session):
    form = valid_form(client, institution_code=clinic.code, role="general")
    response = client.post("/register", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "尚無單位業務管理者" in text_of(html, "role-error")
    assert input_value(html, "username") == "chen.clinic01"
    assert db_session.scalar(select(func.count()).select_from(Application)) == 0


@pytest.mark.parametrize("has", ["active manager", "manager application"])
def test_general_user_accepted_where_a_manager_exists_or_applies(client, clinic, db_session, has):
    if has == "active manager":
        factories.active_manager(clinic)
    else:
        manager = factories.account(institution=clinic, role=Role.MANAGER)
        factories.application(manager)
    form = valid_form(client, institution_code=clinic.code, role="general", subsystems=[])
    response = client.post("/register", data=form)
    assert response.status_code == 303
    application = db_session.scalar(
        select(Application)
        .join(Account, Application.account_id == Account.id)
        .where(Account.username == "chen.clinic01")
    )
    assert application.state is ApplicationState.AWAITING_MANAGER
    assert application.account.subsystem_requests == []


def test_role_check_fragment_and_full_page(client, clinic):
    html = registration_page(client)
    data = {"institution_code": clinic.code, "role": "general"}
    headers = {"HX-Request": "true", "X-CSRFToken": csrf_token(html)}
    fragment = client.post("/register/role-check", data=data, headers=headers)
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<fieldset id="role-field"')
    assert "尚無單位業務管理者" in text_of(body, "role-error")
    assert "HX-Request" in fragment.headers["Vary"]
    page = client.post("/register/role-check", data={**data, "csrf_token": csrf_token(html)})
    assert "<html" in page.get_data(as_text=True)
    assert "尚無單位業務管理者" in text_of(page.get_data(as_text=True), "role-error")


def test_username_taken_regardless_of_case(client, clinic, db_session):
    factories.account(username="Chen.Clinic01")
    response = client.post("/register", data=valid_form(client, institution_code=clinic.code))
    assert response.status_code == 409
    assert "已有人使用" in text_of(response.get_data(as_text=True), "username-error")


def test_unknown_institution_and_subsystem(client):
    form = valid_form(client, institution_code="9999999999", subsystems=["no-such"])
    html = client.post("/register", data=form).get_data(as_text=True)
    assert "勾選的子系統不存在" in text_of(html, "subsystems-error")
    form = valid_form(client, institution_code="9999999999")
    html = client.post("/register", data=form).get_data(as_text=True)
    assert "查無此醫事機構代碼" in text_of(html, "institution_code-error")


def test_an_inactive_institution_is_named_as_inactive_not_unknown(client, db_session):
    closed = factories.institution(name="歇業測試診所", active=False)
    said = (
        f"「歇業測試診所」（{closed.code}）已停用，不能申請帳號。如機構仍在營業，請洽系統服務窗口。"
    )
    form = valid_form(client, institution_code=closed.code)
    response = client.post("/register", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert text_of(html, "institution_code-error") == said
    assert text_of(html, "institution-inactive") == said
    assert "查無" not in html
    assert input_value(html, "username") == "chen.clinic01"
    assert db_session.scalar(select(func.count()).select_from(Application)) == 0
    # The page opened with the code in its address says the same before anything is typed.
    page = client.get(f"/register?institution_code={closed.code}").get_data(as_text=True)
    assert text_of(page, "institution-inactive") == said


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("national_id", "A123456788", "身分證字號或居留證號格式不正確"),
        ("national_id", "", "請輸入身分證字號"),
        ("phone", "12345678", "請寫上區碼"),
        ("phone", "02-12345678#1234567", "分機為 1 至 6 位數字"),
        ("mobile", "0812-345678", "手機號碼以 09 開頭"),
        ("email", "chen@", "電子郵件格式不正確"),
        ("username", "ab", "4 至 30 個字元"),
        ("username", "-chen", "只能使用英文字母"),
        ("username", "陳小明abc", "只能使用英文字母"),
        ("password_confirm", "Different*1Pw", "兩次輸入的密碼不一致"),
        ("password", "short1A*", "密碼不符規則"),
        ("password", "Tz9kqWmx2abc", "密碼不符規則：含特殊字元"),
        ("password", "Tz9*kq$Wm!x2", "只用英文字母、數字"),
        ("institution_code", "12345", "10 位數字"),
        ("department", "家" * 101, "機構、部門最多 100 個字"),
    ],
)
def test_invalid_field_gets_message_next_to_it_and_keeps_input(
    client, clinic, field, value, message
):
    form = valid_form(client, **{"institution_code": clinic.code, field: value})
    if field == "password":
        form["password_confirm"] = value
    response = client.post("/register", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in (text_of(html, f"{field}-error") or "")
    assert f'aria-describedby="{field}-error' in html
    assert input_value(html, "name") == "陳小明"
    assert input_value(html, "email") == form["email"]
    assert input_value(html, "department") == form["department"]
    assert factories.STRONG_PASSWORD not in html


def test_password_containing_username_or_id_is_refused(client, clinic):
    form = valid_form(
        client,
        institution_code=clinic.code,
        username="tz9kqwm",
        password="Tz9kqWm*x2!B",
        password_confirm="Tz9kqWm*x2!B",
    )
    html = client.post("/register", data=form).get_data(as_text=True)
    assert "不得與帳號相同或包含帳號" in text_of(html, "password-error")
    form = valid_form(
        client,
        institution_code=clinic.code,
        password="a123456789Zx*",
        password_confirm="a123456789Zx*",
    )
    html = client.post("/register", data=form).get_data(as_text=True)
    assert "不得包含身分證字號" in text_of(html, "password-error")


def test_resident_certificates_are_accepted(client, clinic, db_session):
    for national_id in (factories.RESIDENT_OLD_ID, factories.RESIDENT_NEW_ID):
        form = valid_form(
            client,
            institution_code=clinic.code,
            national_id=national_id,
            username=f"u{national_id.lower()}",
        )
        assert client.post("/register", data=form).status_code == 303


def test_absurd_input_gets_a_message_not_a_500(client, clinic):
    form = valid_form(client, institution_code=clinic.code, name="陳" * 5000)
    response = client.post("/register", data=form)
    assert response.status_code == 422
    assert "最多 50 個字" in text_of(response.get_data(as_text=True), "name-error")
    huge = client.post("/register", data={**form, "name": "x" * 2_000_000})
    assert huge.status_code == 413
    assert "資料太大" in huge.get_data(as_text=True)


def test_form_without_csrf_token_is_refused(client, clinic, db_session):
    form = valid_form(client, institution_code=clinic.code)
    del form["csrf_token"]
    assert client.post("/register", data=form).status_code == 400
    assert db_session.scalar(select(func.count()).select_from(Application)) == 0


def test_security_headers(client):
    response = client.get("/register")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in response.get_data(as_text=True)


def test_english_is_available(client):
    client.get("/language/en?next=/register")
    html = client.get("/register").get_data(as_text=True)
    assert 'lang="en"' in html


def test_session_cookie_is_secure_in_production(fresh_database):
    from tests.conftest import make_app

    app = make_app(fresh_database, SESSION_COOKIE_SECURE=True)
    cookie = app.test_client().get("/register").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_message_waiting_for_one_visitor_is_shown_to_them_only(app, client):
    registration_page(client)  # the shared blank page is now cached
    with client.session_transaction() as session:
        session["_flashes"] = [("message", "只給這位訪客的訊息")]
    assert "只給這位訪客的訊息" in registration_page(client)
    assert "只給這位訪客的訊息" not in registration_page(app.test_client())
    assert "只給這位訪客的訊息" not in registration_page(client)  # shown once, as flashes are
