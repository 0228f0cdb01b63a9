"""Phone numbers as people write them, on 帳號申請 and 我的帳號: one stored form, shown back."""

import pytest
from sqlalchemy import select

from portal.accounts.models import Account, AccountState
from tests import factories
from tests.functional.auth_helpers import login, post_form
from tests.functional.helpers import input_value, text_of
from tests.functional.test_registration import valid_form


@pytest.fixture
def clinic(db_session):
    return factories.institution(name="臺北虛擬診所電話測試")


@pytest.mark.parametrize(
    ("phone", "mobile", "stored_phone", "stored_mobile"),
    [
        ("(02)2522-0878", "0912345678", "02-25220878", "0912-345678"),
        ("(02)2559-1971#4", "0912 345 678", "02-25591971#4", "0912-345678"),
        ("02-2522-0878", "0912-345-678", "02-25220878", "0912-345678"),
        ("02-25220878 分機 123", "+886 912 345 678", "02-25220878#123", "0912-345678"),
        ("02 2522 0878 ext. 5", "", "02-25220878#5", None),
        ("０２－２５２２０８７８", "０９１２３４５６７８", "02-25220878", "0912-345678"),
    ],
)
def test_registration_stores_one_form_of_each_number(
    client, clinic, db_session, phone, mobile, stored_phone, stored_mobile
):
    form = valid_form(client, institution_code=clinic.code, phone=phone, mobile=mobile)
    assert client.post("/register", data=form).status_code == 303
    account = db_session.scalar(select(Account).where(Account.username == "chen.clinic01"))
    assert (account.phone, account.mobile) == (stored_phone, stored_mobile)


def test_registration_shows_the_stored_form_back_after_another_fields_error(client, clinic):
    form = valid_form(
        client,
        institution_code=clinic.code,
        phone="(02)2559-1971 分機 4",
        mobile="+886 912 345 678",
        email="chen@",
    )
    response = client.post("/register", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert text_of(html, "email-error")
    assert input_value(html, "phone") == "02-25591971#4"
    assert input_value(html, "mobile") == "0912-345678"
    assert text_of(html, "phone-error") == text_of(html, "mobile-error") == ""


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("phone", "25220878", "請寫上區碼"),
        ("phone", "0912-345678", "這是手機號碼，請填在手機欄"),
        ("phone", "(02)2522-087", "區碼 02 之後應有 8 位數字"),
        ("phone", "04-123456", "區碼 04 之後應有 7 或 8 位數字"),
        ("phone", "01-2345678", "查無這個區碼"),
        ("phone", "02-2522-0878 請找陳小姐", "電話號碼只能有數字、括號、連字號與分機"),
        ("phone", "02-25220878 分機 12a", "分機為 1 至 6 位數字"),
        ("mobile", "02-25220878", "手機號碼以 09 開頭"),
        ("mobile", "0912-34567", "09 開頭的 10 位數字"),
        ("mobile", "0912-345678 陳", "電話號碼只能有數字"),
    ],
)
def test_a_number_that_cannot_be_read_is_explained_next_to_it(
    client, clinic, field, typed, message
):
    form = valid_form(client, institution_code=clinic.code, **{field: typed})
    response = client.post("/register", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in text_of(html, f"{field}-error")
    assert input_value(html, field) == typed  # as typed, to be corrected


@pytest.fixture
def person(db_session):
    return factories.account(state=AccountState.ACTIVE, username="lin.phone")


def test_my_account_stores_and_shows_the_stored_form(client, person, db_session):
    login(client, "lin.phone")
    saved = post_form(
        client,
        "/account",
        "/account/contact",
        {"email": person.email, "phone": "(02)2522-0878 分機 123", "mobile": "+886 912 345 678"},
    )
    assert saved.status_code == 303
    db_session.refresh(person)
    assert (person.phone, person.mobile) == ("02-25220878#123", "0912-345678")
    page = client.get("/account").get_data(as_text=True)
    assert input_value(page, "phone") == "02-25220878#123"
    assert input_value(page, "mobile") == "0912-345678"


def test_my_account_shows_the_stored_form_after_another_fields_error(client, person, db_session):
    login(client, "lin.phone")
    refused = post_form(
        client,
        "/account",
        "/account/contact",
        {"email": "lin@", "phone": "０２－２５２２０８７８", "mobile": "0912 345 678"},
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert input_value(html, "phone") == "02-25220878"
    assert input_value(html, "mobile") == "0912-345678"
    unreadable = post_form(
        client, "/account", "/account/contact", {"email": person.email, "phone": "2522-0878"}
    )
    assert "請寫上區碼" in text_of(unreadable.get_data(as_text=True), "phone-error")
    db_session.refresh(person)
    assert person.phone == "02-12345678"  # unchanged
