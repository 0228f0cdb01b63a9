"""Rate limits on registration, the meter, the institution search, the role check and the
status lookup."""

import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.functional.helpers import csrf_token

HX = {"HX-Request": "true"}


@pytest.fixture
def tight_limits(app):
    saved = {key: app.config[key] for key in app.config if key.startswith("RATELIMIT_")}
    app.config.update(
        RATELIMIT_REGISTER="2 per minute",
        RATELIMIT_PASSWORD_METER="2 per minute",
        RATELIMIT_INSTITUTION_SEARCH="2 per minute",
        RATELIMIT_ROLE_CHECK="2 per minute",
    )
    yield
    app.config.update(saved)


def test_registration_submissions_are_limited(client, tight_limits):
    token = csrf_token(client.get("/register").get_data(as_text=True))
    codes = [client.post("/register", data={"csrf_token": token}).status_code for _ in range(3)]
    assert codes == [422, 422, 429]
    assert "操作次數過多" in client.post("/register", data={"csrf_token": token}).get_data(
        as_text=True
    )


def test_meter_is_limited(client, tight_limits):
    headers = {**HX, "X-CSRFToken": csrf_token(client.get("/register").get_data(as_text=True))}
    codes = [
        client.post(
            "/register/password-strength", data={"password": "x"}, headers=headers
        ).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_institution_search_is_limited(client, tight_limits):
    codes = [client.get("/institutions/search?q=診所", headers=HX).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_role_check_is_limited(client, tight_limits):
    headers = {**HX, "X-CSRFToken": csrf_token(client.get("/register").get_data(as_text=True))}
    codes = [
        client.post("/register/role-check", data={"role": "general"}, headers=headers).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


REDIS_CHECK = """
import sys
from tests.conftest import make_app
app = make_app(sys.argv[1], RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15",
               RATELIMIT_INSTITUTION_SEARCH="1 per minute")
client = app.test_client()
print(*[client.get("/institutions/search?q=x", headers={"HX-Request": "true"}).status_code
        for _ in range(2)])
"""


def test_limits_can_live_in_redis(fresh_database):
    # A process of its own: the limiter is a module-level extension, and pointing it at
    # Redis here would carry over into every later test.
    server = redis.Redis(host="127.0.0.1", port=6379, db=15, socket_timeout=2)
    try:
        server.flushdb()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (make test starts it)")
    result = subprocess.run(
        [sys.executable, "-c", REDIS_CHECK, fresh_database],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
        check=False,
    )
    assert result.stdout.split() == ["200", "429"], result.stderr
    assert server.keys("LIMITS*")
