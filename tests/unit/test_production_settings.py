"""Production refuses to start on settings that would quietly weaken it."""

import pytest

from portal import create_app

KEYS = {
    "SECRET_KEY": "a-secret-key",
    "ID_ENCRYPTION_KEYS": "javPMkN6qGyD5C25ICDy92RioLmqf06VvU36Ufiyoy4=",
    "ID_HASH_KEY": "an-id-hash-key",
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


def test_production_refuses_cards_no_current_crl_covers():
    app = create_app("production", {**KEYS, "RATELIMIT_STORAGE_URI": SHARED_STORE})
    assert app.config["CARD_CRL_REQUIRED"] is True
    assert create_app("development", KEYS).config["CARD_CRL_REQUIRED"] is False
