"""Production refuses to start on settings that would quietly weaken it."""

import pytest

from portal import create_app

KEYS = {
    "SECRET_KEY": "a-secret-key",
    "ID_ENCRYPTION_KEYS": "javPMkN6qGyD5C25ICDy92RioLmqf06VvU36Ufiyoy4=",
    "ID_HASH_KEY": "an-id-hash-key",
    "EXTERNAL_BASE_URL": "https://portal.example.gov.tw",
}
SHARED_STORE = "redis://127.0.0.1:6379/15"


def test_production_refuses_to_start_without_its_keys():
    with pytest.raises(RuntimeError, match="SECRET_KEY, ID_ENCRYPTION_KEYS, ID_HASH_KEY"):
        create_app(
            "production",
            {"SECRET_KEY": None, "ID_ENCRYPTION_KEYS": None, "ID_HASH_KEY": None},
        )


def test_production_refuses_rate_limits_each_worker_counts_alone():
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI"):
        create_app("production", {**KEYS, "RATELIMIT_STORAGE_URI": "memory://"})


def test_production_starts_with_a_shared_rate_limit_store():
    app = create_app("production", {**KEYS, "RATELIMIT_STORAGE_URI": SHARED_STORE})
    assert app.config["RATELIMIT_STORAGE_URI"] == SHARED_STORE


def test_production_without_rate_limits_needs_no_store():
    app = create_app(
        "production", {**KEYS, "RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_ENABLED": False}
    )
    assert app.config["RATELIMIT_ENABLED"] is False


def test_development_keeps_per_process_limits():
    app = create_app("development", {**KEYS, "RATELIMIT_STORAGE_URI": "memory://"})
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_production_refuses_to_start_without_its_address():
    with pytest.raises(RuntimeError, match="EXTERNAL_BASE_URL"):
        create_app("production", {**KEYS, "EXTERNAL_BASE_URL": None})


@pytest.mark.parametrize(
    "address", ["portal.example.gov.tw", "ftp://portal.example.gov.tw", "https://"]
)
def test_an_address_that_is_no_web_address_is_refused(address):
    with pytest.raises(RuntimeError, match="EXTERNAL_BASE_URL must be"):
        create_app("testing", {"EXTERNAL_BASE_URL": address})


def _production(**overrides):
    settings = {**KEYS, "RATELIMIT_ENABLED": False, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    return create_app("production", {**settings, **overrides})


def test_production_answers_only_for_the_host_of_its_address():
    app = _production()
    assert app.config["TRUSTED_HOSTS"] == ["portal.example.gov.tw"]
    client = app.test_client()
    # /login needs no database (this app has none); the home page now lists announcements.
    assert client.get("/login", base_url="https://portal.example.gov.tw").status_code == 200
    foreign = client.get("/login", base_url="https://evil.example")
    assert foreign.status_code == 400
    assert "evil.example" not in foreign.get_data(as_text=True)
    forged = client.post("/password/forgot", headers={"Host": "evil.example"})
    assert forged.status_code == 400


def test_the_hosts_served_can_be_set():
    app = _production(TRUSTED_HOSTS=["portal.example.gov.tw", "portal-lb.internal"])
    client = app.test_client()
    assert client.get("/login", base_url="https://portal-lb.internal").status_code == 200
    assert client.get("/login", base_url="https://evil.example").status_code == 400


def test_development_and_tests_serve_any_host():
    assert create_app("testing").config["TRUSTED_HOSTS"] is None
    assert create_app("development", KEYS).config["TRUSTED_HOSTS"] is None


def test_production_refuses_cards_no_current_crl_covers():
    assert _production().config["CARD_CRL_REQUIRED"] is True
    assert create_app("development", KEYS).config["CARD_CRL_REQUIRED"] is False
