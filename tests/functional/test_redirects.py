"""A `next` from the request never sends a person to another site, and never breaks."""

from urllib.parse import quote, urlsplit

import pytest

from portal.accounts.models import AccountState
from tests import factories
from tests.functional.helpers import csrf_token, hidden_value

# As they arrive in a query string: %09 is a tab, %5C a backslash, %0D%0A a line break.
HOSTILE = [
    "//evil.example",
    "/%5Cevil.example",
    "/%09/evil.example",
    "%09//evil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "/%0D%0ASet-Cookie:x",
    "/%00//evil.example",
    "/" + "a" * 5000,
]


def _stays_on_the_site(location: str) -> bool:
    """Whether a browser following this Location stays here (tabs and line breaks dropped,
    backslashes read as slashes, as browsers do)."""
    as_read = location.replace("\t", "").replace("\r", "").replace("\n", "").replace("\\", "/")
    parts = urlsplit(as_read)
    return not parts.scheme and not parts.netloc and not as_read.startswith("//")


@pytest.mark.parametrize("target", HOSTILE)
def test_the_language_switch_goes_back_only_to_a_page_here(client, target):
    response = client.get(f"/language/en?next={target}")
    assert response.status_code == 302
    assert _stays_on_the_site(response.headers["Location"]), response.headers["Location"]


@pytest.mark.parametrize("target", HOSTILE)
def test_sign_in_goes_on_only_to_a_page_here(client, db_session, target):
    factories.account(state=AccountState.ACTIVE, username="next.user")
    page = client.get(f"/login?next={target}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert _stays_on_the_site(hidden_value(html, "next"))
    # The hidden field may be forged too: the posted value is checked again.
    response = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(html),
            "username": "next.user",
            "password": factories.STRONG_PASSWORD,
            "next": target.replace("%09", "\t").replace("%0D%0A", "\r\n").replace("%5C", "\\"),
        },
    )
    assert response.status_code == 303
    assert _stays_on_the_site(response.headers["Location"]), response.headers["Location"]


def test_a_page_here_is_still_where_sign_in_and_the_language_switch_go(client, db_session):
    factories.account(state=AccountState.ACTIVE, username="next.user")
    back = client.get("/language/en?next=" + quote("/announcements?category=1"))
    assert back.headers["Location"] == "/announcements?category=1"
    html = client.get("/login?next=/applications/status").get_data(as_text=True)
    response = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(html),
            "username": "next.user",
            "password": factories.STRONG_PASSWORD,
            "next": "/applications/status",
        },
    )
    assert response.headers["Location"] == "/applications/status"
