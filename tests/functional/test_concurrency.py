"""Two applicants racing for the same account name end in one consistent state."""

import threading

from sqlalchemy import func, select

from portal.accounts.models import Account
from portal.extensions import db
from portal.registration.models import Application
from tests import factories
from tests.functional.helpers import text_of
from tests.functional.test_registration import valid_form


def test_same_username_twice_at_once_makes_one_account(live_app):
    with live_app.app_context():
        clinic = factories.institution()
        db.session.commit()
        code = clinic.code
    clients = [live_app.test_client() for _ in range(2)]
    forms = [
        valid_form(client, institution_code=code, username="race.user", email=f"r{i}@example.org")
        for i, client in enumerate(clients)
    ]
    barrier = threading.Barrier(2)
    responses = [None, None]

    def submit(index: int) -> None:
        barrier.wait()
        responses[index] = clients[index].post("/register", data=forms[index])

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    codes = sorted(response.status_code for response in responses)
    assert codes == [303, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert "已有人使用" in text_of(loser.get_data(as_text=True), "username-error")
    with live_app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Account).where(Account.username_key == "race.user")
        )
    assert count == 1


def test_a_double_click_makes_one_application_and_one_mail(live_app, smtp_sink):
    with live_app.app_context():
        code = factories.institution().code
        db.session.commit()
    # One browser: both posts carry the same cookie and the same form, as a double click does.
    clients = [live_app.test_client() for _ in range(2)]
    form = valid_form(clients[0], institution_code=code, username="double.click")
    clients[1].set_cookie("portal_session", clients[0].get_cookie("portal_session").value)
    barrier = threading.Barrier(2)
    responses = [None, None]

    def submit(index: int) -> None:
        barrier.wait()
        responses[index] = clients[index].post("/register", data=form)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [response.status_code for response in responses] == [303, 303]
    with live_app.app_context():
        applications = db.session.scalar(select(func.count()).select_from(Application))
    assert applications == 1
    assert len(smtp_sink.messages) == 1
