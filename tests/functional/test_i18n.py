"""The English interface: choosing it, and what it changes (pages, form errors, fragments)."""

from tests import factories
from tests.functional.helpers import csrf_token, hidden_value, text_of

HX = {"HX-Request": "true"}


def choose_english(client) -> None:
    response = client.get("/language/en?next=/register")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/register")


def test_default_is_traditional_chinese(client):
    html = client.get("/register").get_data(as_text=True)
    assert '<html lang="zh-Hant-TW"' in html
    assert "帳號申請" in text_of(html, "main")
    assert "醫事機構代碼" in html and "單位業務管理者" in html
    assert "Account application" not in html


def test_registration_page_in_english(client):
    choose_english(client)
    html = client.get("/register").get_data(as_text=True)
    assert '<html lang="en"' in html
    main = text_of(html, "main")
    # Template strings (`_()` in Jinja) ...
    assert "Account application" in main
    assert "Submit application" in main
    assert "Fields marked * are required." in main
    # ... and the form's labels and choices (`lazy_gettext` in Python).
    for text in (
        "Institution code",
        "Unit manager",
        "General user",
        "National ID / Resident certificate no.",
        "Confirm password",
    ):
        assert text in main, text
    assert "帳號申請" not in main and "醫事機構代碼" not in main
    assert "<title>Account application · Preventive Care Services Portal</title>" in html
    # The switch back to Chinese is offered.
    assert "/language/zh_Hant_TW" in html


def test_validation_error_in_english(client):
    choose_english(client)
    html = client.get("/register").get_data(as_text=True)
    form = {
        "csrf_token": csrf_token(html),
        "submission_token": hidden_value(html, "submission_token"),
        "institution_code": "",
        "role": "manager",
        "username": "chen.clinic01",
        "password": factories.STRONG_PASSWORD,
        "password_confirm": factories.STRONG_PASSWORD,
        "national_id": "A123456789",
        "name": "Chen",
        "phone": "02-12345678",
        "email": "chen@",
    }
    response = client.post("/register", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<html lang="en"' in page
    assert text_of(page, "email-error") == "Enter a valid e-mail address, e.g. name@example.com."
    assert text_of(page, "institution_code-error") == (
        "Please enter the institution code, or search by name and choose one."
    )


def test_password_meter_fragment_in_english(client):
    choose_english(client)
    token = csrf_token(client.get("/register").get_data(as_text=True))
    html = client.post(
        "/register/password-strength",
        data={"password": "abc"},
        headers={**HX, "X-CSRFToken": token},
    ).get_data(as_text=True)
    assert text_of(html, "password-strength") == "Does not meet the rules"
    assert "Contains an uppercase letter" in html
    assert "Strength of at least “Medium”" in html


def test_switching_back_to_chinese(client):
    choose_english(client)
    client.get("/language/zh_Hant_TW?next=/register")
    html = client.get("/register").get_data(as_text=True)
    assert '<html lang="zh-Hant-TW"' in html and "帳號申請" in html


def test_unknown_language_keeps_the_current_one(client):
    choose_english(client)
    client.get("/language/fr?next=/register")
    assert '<html lang="en"' in client.get("/register").get_data(as_text=True)
