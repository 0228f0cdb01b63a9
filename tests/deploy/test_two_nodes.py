"""Two nodes behind nginx behave as one (issue 13, point 3). PostgreSQL only: the nodes are
separate processes sharing one database server, which the embedded SQLite default is not."""

import threading
import time
from collections import Counter

import pytest
import redis
import requests
import sqlalchemy as sa

from portal.accounts.models import AccountState
from portal.extensions import db
from tests import factories
from tests.conftest import make_app
from tests.deploy.cluster import REDIS_DB, Cluster, client_from
from tests.functional.helpers import csrf_token

pytestmark = pytest.mark.postgres_only

PASSWORD = factories.STRONG_PASSWORD
# The settings the scenario tightens, so that a few requests reach each limit.
SETTINGS = {
    "RATELIMIT_STATUS_LOOKUP": "3 per minute",
    "LOGIN_MAX_FAILURES": "3",
    "RATELIMIT_PASSWORD_METER": "10000 per minute",
}


@pytest.fixture(scope="module")
def cluster(database, tmp_path_factory):
    """nginx, two nodes, one database with two active general users."""
    url = database.clone()
    app = make_app(url)
    with app.app_context():
        for username in ("alice", "bob"):
            factories.account(username=username, username_key=username, state=AccountState.ACTIVE)
        db.session.commit()
        db.engine.dispose()
    redis.Redis(db=REDIS_DB).flushdb()
    running = Cluster(tmp_path_factory.mktemp("cluster"), url, SETTINGS)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        redis.Redis(db=REDIS_DB).flushdb()
        database.drop(url)


def query(cluster: Cluster, sql: str) -> list:
    """Rows from the nodes' database."""
    engine = sa.create_engine(cluster.database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(sql)).all()
    finally:
        engine.dispose()


def post_login(browser, base_url: str, username: str, password: str, **headers):
    """The sign-in form filled in and sent, as a browser does (Referer included over TLS)."""
    page = browser.get(base_url + "/login", headers=headers)
    data = {"csrf_token": csrf_token(page.text), "username": username, "password": password}
    headers = {"Referer": base_url + "/login", **headers}
    return browser.post(base_url + "/login", data=data, headers=headers, allow_redirects=False)


def test_a_sign_in_on_one_node_is_valid_on_the_other(cluster):
    browser = client_from("127.0.0.5", cluster.ca_file)
    response = post_login(browser, cluster.base_url, "alice", PASSWORD)
    assert response.status_code == 303

    # The cookie is Secure over TLS, not readable by scripts, and not sent cross-site.
    set_cookie = response.headers["Set-Cookie"]
    assert "portal_session=" in set_cookie
    assert "Secure" in set_cookie and "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    # The session itself is a row in the shared database; the cookie only names it, signed.
    assert query(cluster, "SELECT count(*) FROM user_sessions WHERE ended_at IS NULL")[0][0] == 1

    cookie = f"portal_session={browser.cookies['portal_session']}"
    for node in cluster.nodes:
        page = client_from("127.0.0.5").get(
            node.url + "/account", headers={"Host": "localhost", "Cookie": cookie}
        )
        assert page.status_code == 200
        assert "alice" in page.text
    # Through nginx, whichever node answers, the person stays signed in.
    assert all(browser.get(cluster.base_url + "/account").status_code == 200 for _ in range(4))
    # nginx's request id is the portal's: the two logs join on it.
    request_id = browser.get(cluster.base_url + "/account").headers["X-Request-ID"]
    nginx_log = cluster.workdir / "nginx-access.log"
    deadline = time.monotonic() + 5  # nginx writes the line once the response is sent
    while f'"request_id":"{request_id}"' not in nginx_log.read_text():
        assert time.monotonic() < deadline, f"{request_id} not in nginx's log"
        time.sleep(0.1)
    # /metrics is for the monitoring network, on each node, never through nginx.
    assert browser.get(cluster.base_url + "/metrics").status_code == 404


def test_rate_limits_count_across_nodes(cluster):
    browser = client_from("127.0.0.7", cluster.ca_file)
    before = [node.requests_served("/applications/status") for node in cluster.nodes]
    answers = []
    for _ in range(5):
        page = browser.get(cluster.base_url + "/applications/status")
        data = {
            "csrf_token": csrf_token(page.text),
            "application_no": "20261203000000",
            "national_id": "A123456789",
        }
        headers = {"Referer": cluster.base_url + "/applications/status"}
        answers.append(
            browser.post(cluster.base_url + "/applications/status", data=data, headers=headers)
        )

    # Three lookups a minute from one address, counted once for both nodes.
    assert [answer.status_code for answer in answers] == [404, 404, 404, 429, 429]
    assert "短時間內的操作次數過多，請稍候再試。" in answers[3].text
    served = [
        node.requests_served("/applications/status") - b
        for node, b in zip(cluster.nodes, before, strict=True)
    ]
    assert all(count >= 3 for count in served), served  # both nodes answered some of them


def test_a_lockout_counts_failures_made_on_either_node(cluster):
    browser = client_from("127.0.0.8", cluster.ca_file)
    before = [node.requests_served("/login") for node in cluster.nodes]
    for _ in range(3):
        assert post_login(browser, cluster.base_url, "bob", "wrong-Password1!").status_code == 401
    served = [
        node.requests_served("/login") - b for node, b in zip(cluster.nodes, before, strict=True)
    ]
    assert all(served), served

    # The address is now locked out of the account, whichever node it reaches.
    for _ in range(2):
        refused = post_login(browser, cluster.base_url, "bob", PASSWORD)
        assert refused.status_code == 401
    # Another address is not.
    elsewhere = client_from("127.0.0.9", cluster.ca_file)
    assert post_login(elsewhere, cluster.base_url, "bob", PASSWORD).status_code == 303


def test_the_client_address_is_believed_only_from_the_proxy(cluster):
    forged = {"X-Forwarded-For": "203.0.113.66"}
    # Through nginx, from 127.0.0.10, with a forged header: nginx replaces it.
    through_proxy = client_from("127.0.0.10", cluster.ca_file)
    wrong = "x-Wrong-1!"
    assert post_login(through_proxy, cluster.base_url, "bob", wrong, **forged).status_code == 401
    # Straight to a node, from 127.0.0.11 (not the proxy), with a forged header: dropped.
    direct = client_from("127.0.0.11")
    node = cluster.nodes[0].url
    page = direct.get(node + "/login", headers={"Host": "localhost"})
    cookie = f"portal_session={direct.cookies['portal_session']}"
    refused = direct.post(
        node + "/login",
        data={"csrf_token": csrf_token(page.text), "username": "bob", "password": wrong},
        headers={"Host": "localhost", "Cookie": cookie, **forged},
    )
    assert refused.status_code == 401

    addresses = {
        row[0]
        for row in query(
            cluster, "SELECT remote_addr FROM audit_events WHERE action LIKE 'login.%'"
        )
    }
    assert {"127.0.0.10", "127.0.0.11"} <= addresses
    assert "203.0.113.66" not in addresses
    # alice's sign-in through nginx (the first test) was recorded with her own address.
    rows = query(cluster, "SELECT remote_addr FROM user_sessions")
    assert "127.0.0.5" in {row[0] for row in rows}


def test_a_node_drained_and_restarted_loses_no_request(cluster):
    statuses: Counter = Counter()
    stop = threading.Event()

    def keep_working() -> None:
        session = client_from("127.0.0.13", cluster.ca_file)
        # A new connection for each request: nginx's reload closes idle kept-alive client
        # connections, which a browser quietly retries and requests does not.
        session.headers["Connection"] = "close"
        token = csrf_token(session.get(cluster.base_url + "/register").text)
        headers = {
            "HX-Request": "true",
            "X-CSRFToken": token,
            "Referer": cluster.base_url + "/register",
        }
        meter = cluster.base_url + "/register/password-strength"
        while not stop.is_set():
            try:
                got = session.get(cluster.base_url + "/login", timeout=30)
                statuses["GET", got.status_code] += 1
                typed = session.post(meter, data={"password": "Tz9*kq"}, headers=headers)
                statuses["POST", typed.status_code] += 1
            except requests.RequestException as error:  # counted, so the test sees it
                statuses["failed", type(error).__name__] += 1

    workers = [threading.Thread(target=keep_working) for _ in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(1)
    away = cluster.restart(cluster.nodes[1])
    time.sleep(1)
    stop.set()
    for worker in workers:
        worker.join(timeout=30)

    assert away > 0.5
    assert statuses["GET", 200] > 20 and statuses["POST", 200] > 20
    assert set(statuses) == {("GET", 200), ("POST", 200)}, statuses


def test_a_node_killed_mid_run_loses_no_get(cluster):
    browser = client_from("127.0.0.12", cluster.ca_file)
    statuses: Counter = Counter()
    stop = threading.Event()

    def keep_reading() -> None:
        session = client_from("127.0.0.12", cluster.ca_file)
        while not stop.is_set():
            try:
                statuses[session.get(cluster.base_url + "/login", timeout=30).status_code] += 1
            except requests.RequestException as error:  # counted, so the test sees it
                statuses[type(error).__name__] += 1

    readers = [threading.Thread(target=keep_reading) for _ in range(4)]
    for reader in readers:
        reader.start()
    time.sleep(1.5)
    cluster.nodes[0].kill()
    time.sleep(2.5)
    stop.set()
    for reader in readers:
        reader.join(timeout=30)

    assert statuses[200] > 20
    assert set(statuses) == {200}, statuses
    # nginx did send requests to the dead node (a request in flight reset, or a connection
    # refused) and answered them from the other one.
    errors = (cluster.workdir / "nginx-error.log").read_text()
    dead = f'upstream: "http://127.0.0.1:{cluster.nodes[0].port}/login"'
    assert any(dead in line and "[error]" in line for line in errors.splitlines()), errors
    # Static files come from nginx itself: with the other node gone too, they still load.
    cluster.nodes[1].kill()
    assert browser.get(cluster.base_url + "/login").status_code == 502
    stylesheet = browser.get(cluster.base_url + "/static/style.css")
    assert stylesheet.status_code == 200
    assert stylesheet.headers["Content-Type"].startswith("text/css")
