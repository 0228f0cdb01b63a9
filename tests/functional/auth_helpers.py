"""Signing in through the pages, as a person would."""

from tests import factories
from tests.functional.helpers import csrf_token


def login(client, username: str, password: str = factories.STRONG_PASSWORD, next_: str = ""):
    """Post the sign-in form; returns the response."""
    page = client.get("/login" + (f"?next={next_}" if next_ else "")).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "username": username, "password": password}
    if next_:
        data["next"] = next_
    return client.post("/login", data=data)


def login_staff(client, account, password: str = factories.STRONG_PASSWORD):
    """Sign a staff member in, second factor included; returns the last response."""
    first = login(client, account.username, password)
    assert first.status_code == 303 and first.headers["Location"].endswith("/login/second-factor")
    page = client.get("/login/second-factor").get_data(as_text=True)
    return client.post(
        "/login/second-factor",
        data={"csrf_token": csrf_token(page), "code": factories.totp_code(account)},
    )


def logout(client):
    """Press 登出."""
    page = client.get("/account").get_data(as_text=True)
    return client.post("/logout", data={"csrf_token": csrf_token(page)})


def post_form(client, page_url: str, action_url: str, data: dict):
    """Post a form found on page_url, with its CSRF token."""
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    return client.post(action_url, data={"csrf_token": token, **data})
