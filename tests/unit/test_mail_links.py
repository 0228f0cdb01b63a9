"""Links in e-mail are built on the configured address of the portal."""

from portal import create_app
from portal.mail import external_url


def test_links_use_the_configured_address_and_its_path():
    app = create_app("testing", {"EXTERNAL_BASE_URL": "https://portal.example.gov.tw/hpa"})
    with app.app_context():  # no request: as in a command
        assert external_url("manager.applications") == (
            "https://portal.example.gov.tw/hpa/manager/applications"
        )
        assert external_url("auth.reset_password", token="abc") == (
            "https://portal.example.gov.tw/hpa/password/reset/abc"
        )


def test_a_request_names_no_host_of_its_own_choosing():
    app = create_app("testing", {"EXTERNAL_BASE_URL": "https://portal.example.gov.tw"})
    with app.test_request_context(base_url="http://attacker.example"):
        assert external_url("auth.login") == "https://portal.example.gov.tw/login"
