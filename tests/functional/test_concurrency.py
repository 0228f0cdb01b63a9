"""Two applicants racing for the same account name end in one consistent state."""

import threading

from sqlalchemy import func, select

from portal.accounts.models import Account
from portal.extensions import db
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
