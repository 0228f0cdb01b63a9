"""Configuration classes, read from the environment.

`create_app(name)` picks one of `CONFIGS`; every setting can be overridden by an environment
variable of the same name, and deployments may add `instance/portal.cfg`.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_PATH = PROJECT_ROOT / "instance"
MANAGER_NOTICE_MODES = ("immediate", "daily")


def env_str(name: str, default: str | None = None) -> str | None:
    """A string setting from the environment."""
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_int(name: str, default: int) -> int:
    """An integer setting from the environment."""
    return int(env_str(name, str(default)))


def env_list(name: str) -> list[str] | None:
    """A comma-separated list from the environment; None when it is not set."""
    value = env_str(name)
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def env_bool(name: str, default: bool) -> bool:
    """A boolean setting from the environment ('1', 'true', 'yes', 'on' are true)."""
    value = env_str(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def sqlalchemy_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the usual `postgresql://` form."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    """Settings shared by every environment; production values unless said otherwise."""

    SECRET_KEY = env_str("SECRET_KEY")
    # Comma-separated Fernet keys: the first encrypts, all decrypt (key rotation).
    ID_ENCRYPTION_KEYS = env_str("ID_ENCRYPTION_KEYS")
    ID_HASH_KEY = env_str("ID_HASH_KEY")
    # Only while `flask rotate-id-hash-key` runs: the key the digests were made with before.
    ID_HASH_KEY_PREVIOUS = env_str("ID_HASH_KEY_PREVIOUS")

    SQLALCHEMY_DATABASE_URI = sqlalchemy_url(
        env_str("DATABASE_URL", f"sqlite:///{DEFAULT_INSTANCE_PATH / 'portal.db'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # `flask db upgrade` on a live PostgreSQL database: a step that waits longer than this
    # for a lock gives up (and rolls back) rather than queueing every sign-in behind it;
    # any one statement is stopped after the second. PostgreSQL's interval syntax.
    MIGRATION_LOCK_TIMEOUT = env_str("MIGRATION_LOCK_TIMEOUT", "5s")
    MIGRATION_STATEMENT_TIMEOUT = env_str("MIGRATION_STATEMENT_TIMEOUT", "15min")

    BABEL_DEFAULT_LOCALE = "zh_Hant_TW"
    BABEL_DEFAULT_TIMEZONE = "Asia/Taipei"
    LANGUAGES = ("zh_Hant_TW", "en")
    TIMEZONE = "Asia/Taipei"

    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "portal_session"
    PREFERRED_URL_SCHEME = "https"
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
    # The proxies' own addresses or networks, comma-separated (e.g. 10.0.1.10,10.0.1.11):
    # X-Forwarded-* from any other peer is dropped. Unset, any peer's headers are believed.
    TRUSTED_PROXY_ADDRESSES = env_list("TRUSTED_PROXY_ADDRESSES")

    # Largest request body; bigger ones get a friendly 413 page, never a 500.
    # Upload views raise their own limit (request.max_content_length); forms need far less.
    MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 1024 * 1024)
    MAX_FORM_MEMORY_SIZE = env_int("MAX_FORM_MEMORY_SIZE", 256 * 1024)
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = env_str("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_REGISTER = env_str("RATELIMIT_REGISTER", "10 per hour")
    RATELIMIT_PASSWORD_METER = env_str("RATELIMIT_PASSWORD_METER", "300 per minute")
    RATELIMIT_INSTITUTION_SEARCH = env_str("RATELIMIT_INSTITUTION_SEARCH", "300 per minute")
    # Asked each time the institution is chosen; it says whether the institution has a manager.
    RATELIMIT_ROLE_CHECK = env_str("RATELIMIT_ROLE_CHECK", "60 per minute")
    RATELIMIT_STATUS_LOOKUP = env_str("RATELIMIT_STATUS_LOOKUP", "10 per minute;50 per day")

    # Mail, as the worker sends it: "smtp" through MAIL_SERVER; "console" writes to the log.
    MAIL_BACKEND = env_str("MAIL_BACKEND", "smtp")
    MAIL_SERVER = env_str("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)
    MAIL_USERNAME = env_str("MAIL_USERNAME")
    MAIL_PASSWORD = env_str("MAIL_PASSWORD")
    MAIL_SENDER = env_str("MAIL_SENDER", "預防保健服務單一入口 <no-reply@portal.invalid>")
    MAIL_TIMEOUT_SECONDS = env_int("MAIL_TIMEOUT_SECONDS", 10)
    # The outbox (`flask worker`): a message that fails is tried again after
    # OUTBOX_RETRY_SECONDS, then twice as long each time; after OUTBOX_MAX_ATTEMPTS tries it
    # is dead until a portal administrator sends it again (60 s and 8 tries: about 2 hours).
    OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)
    OUTBOX_RETRY_SECONDS = env_int("OUTBOX_RETRY_SECONDS", 60)
    # How often the worker looks for due messages: the most a new message waits.
    WORKER_POLL_SECONDS = float(env_str("WORKER_POLL_SECONDS", "2"))

    # Password policy (DESIGN.md "Password policy"); the meter and the final check share it.
    PASSWORD_MIN_LENGTH = env_int("PASSWORD_MIN_LENGTH", 8)
    PASSWORD_MAX_LENGTH = env_int("PASSWORD_MAX_LENGTH", 64)
    PASSWORD_SPECIAL_CHARACTERS = env_str("PASSWORD_SPECIAL_CHARACTERS", "*~!=#")
    # zxcvbn score (0-4) needed: 2 is 中 on the meter.
    PASSWORD_MIN_SCORE = env_int("PASSWORD_MIN_SCORE", 2)
    PASSWORD_REQUIRE_UPPER = env_bool("PASSWORD_REQUIRE_UPPER", True)
    PASSWORD_REQUIRE_LOWER = env_bool("PASSWORD_REQUIRE_LOWER", True)
    PASSWORD_REQUIRE_DIGIT = env_bool("PASSWORD_REQUIRE_DIGIT", True)
    PASSWORD_REQUIRE_SPECIAL = env_bool("PASSWORD_REQUIRE_SPECIAL", True)

    # Sign-in: lockout after failures (auth/lockout.py), session lifetimes, reset links.
    # LOGIN_MAX_FAILURES from one address within LOGIN_LOCK_MINUTES lock that address out of
    # the account; LOGIN_ACCOUNT_MAX_FAILURES from all addresses together lock it for the
    # addresses it has never signed in from. A new password lifts both.
    LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
    LOGIN_ACCOUNT_MAX_FAILURES = env_int("LOGIN_ACCOUNT_MAX_FAILURES", 50)
    LOGIN_LOCK_MINUTES = env_int("LOGIN_LOCK_MINUTES", 15)
    SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
    SESSION_ABSOLUTE_HOURS = env_int("SESSION_ABSOLUTE_HOURS", 12)
    PASSWORD_RESET_MINUTES = env_int("PASSWORD_RESET_MINUTES", 30)
    # Failed sign-ins counted per address (only failures are deducted).
    RATELIMIT_LOGIN = env_str("RATELIMIT_LOGIN", "30 per 15 minutes")
    RATELIMIT_PASSWORD_FORGOT = env_str("RATELIMIT_PASSWORD_FORGOT", "5 per 15 minutes")
    TOTP_ISSUER = env_str("TOTP_ISSUER", "預防保健服務單一入口")

    # argon2id cost: argon2-cffi's defaults (RFC 9106 low-memory profile).
    ARGON2_TIME_COST = env_int("ARGON2_TIME_COST", 3)
    ARGON2_MEMORY_COST_KIB = env_int("ARGON2_MEMORY_COST_KIB", 65536)
    ARGON2_PARALLELISM = env_int("ARGON2_PARALLELISM", 4)

    # Manager verification: the local card helper, trust anchors (HCA roots in production),
    # challenge lifetime; paper review uploads.
    CARD_HELPER_URL = env_str("CARD_HELPER_URL", "http://127.0.0.1:31611")
    # The oldest card helper the card page works with; an older one is named and the clerk
    # is sent to 下載專區 for the current package.
    CARD_HELPER_MIN_VERSION = env_str("CARD_HELPER_MIN_VERSION", "1.1.0")
    CARD_TRUST_ANCHORS_DIR = env_str(
        "CARD_TRUST_ANCHORS_DIR", str(DEFAULT_INSTANCE_PATH / "trust-anchors")
    )
    # Health bureaus' 政府單位憑證卡: GCA's root and its agency-card issuing CA.
    CARD_GCA_TRUST_ANCHORS_DIR = env_str(
        "CARD_GCA_TRUST_ANCHORS_DIR", str(DEFAULT_INSTANCE_PATH / "trust-anchors-gca")
    )
    # The accepted card kinds, each a dict: key, anchors (the setting naming its anchors
    # directory), policies (OIDs), institution_code (the subject attribute holding it:
    # serialNumber, CN, O, OU or an OID) and institution_kinds (empty: any). None: HCA's
    # 醫事機構卡 for any institution and GCA's 政府單位憑證卡 for 衛生局 (verification.card_kinds).
    CARD_KINDS: tuple[dict, ...] | None = None
    CARD_CHALLENGE_SECONDS = env_int("CARD_CHALLENGE_SECONDS", 300)
    # Revocation: the CRLs of the anchors' CAs, one file each, and the URLs that
    # `flask refresh-card-crls` downloads them from (separated by spaces or commas), with its
    # timeout in seconds. Required: a card that no current CRL covers (none there, or past
    # its nextUpdate) is refused rather than accepted unchecked (see the README).
    CARD_CRL_DIR = env_str("CARD_CRL_DIR", str(DEFAULT_INSTANCE_PATH / "crls"))
    CARD_CRL_URLS = env_str("CARD_CRL_URLS", "")
    CARD_CRL_FETCH_TIMEOUT = env_int("CARD_CRL_FETCH_TIMEOUT", 10)
    CARD_CRL_REQUIRED = env_bool("CARD_CRL_REQUIRED", True)
    # Whether a manager change (forms B and C) may be verified with the institution card and
    # applied at once; off, every change goes through paper review.
    MANAGER_CHANGE_CARD_ENABLED = env_bool("MANAGER_CHANGE_CARD_ENABLED", True)
    UPLOAD_DIR = env_str("UPLOAD_DIR", str(DEFAULT_INSTANCE_PATH / "uploads"))
    UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
    # What a scan may ask of whoever draws it (verification/scan_checks): the form is one
    # A4 page, a scanner may add a cover or a back page.
    UPLOAD_MAX_PDF_PAGES = env_int("UPLOAD_MAX_PDF_PAGES", 5)
    # The longer side of any page, UserUnit included, in millimetres: A3 (420) with a margin.
    UPLOAD_MAX_PDF_PAGE_MM = env_int("UPLOAD_MAX_PDF_PAGE_MM", 450)
    # Every stream of the PDF decoded, images at their declared size: five A4 pages scanned
    # in colour at 300 dpi are 130 MB.
    UPLOAD_MAX_PDF_DECODED_BYTES = env_int("UPLOAD_MAX_PDF_DECODED_BYTES", 200 * 1024 * 1024)
    # A JPEG's or PNG's width × height: A4 at 600 dpi is 35 million.
    UPLOAD_MAX_IMAGE_PIXELS = env_int("UPLOAD_MAX_IMAGE_PIXELS", 40_000_000)
    # Scans kept for one application or change, earlier uploads included.
    UPLOAD_MAX_SCANS_PER_FILING = env_int("UPLOAD_MAX_SCANS_PER_FILING", 10)
    # Upload attempts per address, accepted or refused: each costs seconds of checks.
    RATELIMIT_SCAN_UPLOAD = env_str("RATELIMIT_SCAN_UPLOAD", "20 per hour")

    # The public site's files (announcement attachments, guide pictures, downloads): kept
    # like scans, outside the web root; the largest file an administrator may upload.
    CONTENT_UPLOAD_DIR = env_str(
        "CONTENT_UPLOAD_DIR", str(DEFAULT_INSTANCE_PATH / "uploads" / "content")
    )
    CONTENT_UPLOAD_MAX_BYTES = env_int("CONTENT_UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
    # Where the build leaves the files 下載專區 offers as built-in (card-helper.zip).
    BUILT_DOWNLOADS_DIR = env_str("BUILT_DOWNLOADS_DIR", str(PROJECT_ROOT / "build" / "downloads"))

    # Seconds each process searches its in-memory copy of the institution list before
    # reading it again (institutions/services.Directory; a code not in the copy is looked up).
    INSTITUTION_SEARCH_CACHE_SECONDS = env_int("INSTITUTION_SEARCH_CACHE_SECONDS", 60)
    # The largest institution list an administrator may upload (the whole country's, some
    # 30,000 rows, is about 3 MB).
    INSTITUTION_CSV_MAX_BYTES = env_int("INSTITUTION_CSV_MAX_BYTES", 20 * 1024 * 1024)

    # Working days the agency promises for a review (help desk, unit manager).
    REVIEW_WORKING_DAYS = env_int("REVIEW_WORKING_DAYS", 3)

    # How unit managers hear of their general users' applications: "immediate" (every
    # active manager of the institution is e-mailed as each application arrives) or "daily"
    # (nothing at once; `flask manager-digest` sends each one a list of those still waiting).
    MANAGER_NOTICE = env_str("MANAGER_NOTICE", "immediate")
    # Where people reach the portal, e.g. https://portal.example.gov.tw: every link in every
    # e-mail is built on it, never on the Host a request named. Production requires it.
    EXTERNAL_BASE_URL = env_str("EXTERNAL_BASE_URL")
    # Host names the portal answers (Flask refuses others with 400), comma-separated; a name
    # starting with "." admits its subdomains. Unset, production serves only the host of
    # EXTERNAL_BASE_URL, and development and tests serve any.
    TRUSTED_HOSTS = env_list("TRUSTED_HOSTS")

    # The OpenID Connect provider: access tokens live OIDC_ACCESS_TOKEN_SECONDS (10 min),
    # refresh tokens (rotated at each use) OIDC_REFRESH_TOKEN_HOURS, as long as a portal
    # session at most; a retired signing key stays in the JWKS OIDC_KEY_RETIRE_HOURS after a
    # rotation; a subsystem's back-channel logout endpoint gets this many seconds to answer.
    OIDC_ACCESS_TOKEN_SECONDS = env_int("OIDC_ACCESS_TOKEN_SECONDS", 600)
    OIDC_REFRESH_TOKEN_HOURS = env_int("OIDC_REFRESH_TOKEN_HOURS", 12)
    OIDC_KEY_RETIRE_HOURS = env_int("OIDC_KEY_RETIRE_HOURS", 24)
    OIDC_BACKCHANNEL_TIMEOUT_SECONDS = env_int("OIDC_BACKCHANNEL_TIMEOUT_SECONDS", 5)
    # Subsystems' addresses must be https, except on the local machine, unless this is on.
    OIDC_ALLOW_HTTP_CLIENTS = env_bool("OIDC_ALLOW_HTTP_CLIENTS", False)

    # Scheduled work, run by `flask worker` once a day at or after a Taipei time ("HH:MM";
    # "off" never): the help desk's digest of filings due by the next working day and
    # overdue (working days only), the managers' digest (MANAGER_NOTICE "daily" only), and
    # the purge of what has expired. Several workers run each once: a run is claimed in
    # scheduled_runs, committed with what the job did.
    HELP_DESK_DIGEST_AT = env_str("HELP_DESK_DIGEST_AT", "08:00")
    MANAGER_DIGEST_AT = env_str("MANAGER_DIGEST_AT", "08:00")
    PURGE_AT = env_str("PURGE_AT", "03:00")
    # Sessions, card challenges and reset links are deleted this many days after they
    # ended or expired (kept a while for investigations; the audit trail keeps the events).
    PURGE_EXPIRED_AFTER_DAYS = env_int("PURGE_EXPIRED_AFTER_DAYS", 7)
    # Sent e-mail (its body is emptied once sent) is deleted this many days after sending;
    # dead mail stays until an administrator sends it again.
    OUTBOX_SENT_RETENTION_DAYS = env_int("OUTBOX_SENT_RETENTION_DAYS", 30)
    # A job that failed is tried again by the same worker after this many seconds.
    SCHEDULE_RETRY_SECONDS = env_int("SCHEDULE_RETRY_SECONDS", 300)

    # Logs: "json" (one object per line, with the request id), "text" for people, or "none"
    # to leave logging as the host process set it up. LOG_REQUESTS: one line per request
    # (route, status, time); off by default in production, where nginx's access log has
    # each request with the same id, and a line costs more CPU than the rest of the hooks.
    LOG_FORMAT = env_str("LOG_FORMAT", "json")
    LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
    LOG_REQUESTS = env_bool("LOG_REQUESTS", False)
    # Who may read /metrics: networks (CIDR), matched against the client address as the
    # trusted proxies (TRUSTED_PROXIES) report it. Anyone else gets 404.
    METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS") or ["127.0.0.1/32", "::1/128"]
    # /readyz says "not ready" when more e-mail than this waits in the outbox (0: never).
    READY_MAX_QUEUED_MAIL = env_int("READY_MAX_QUEUED_MAIL", 5000)
    # Seconds each readiness check (database, Redis) may take.
    READY_TIMEOUT_SECONDS = float(env_str("READY_TIMEOUT_SECONDS", "2"))

    # Demo conveniences are off unless a development config turns them on.
    LOAD_DEMO_DATA = False


class DevelopmentConfig(Config):
    """`make run`: SQLite, plain HTTP on localhost, mail to the console."""

    DEBUG = False
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
    PREFERRED_URL_SCHEME = "http"
    MAIL_BACKEND = env_str("MAIL_BACKEND", "console")
    EXTERNAL_BASE_URL = env_str("EXTERNAL_BASE_URL", f"http://127.0.0.1:{env_str('PORT', '5000')}")
    # A test card's CA publishes no CRL: cards are accepted unchecked unless one is there.
    CARD_CRL_REQUIRED = env_bool("CARD_CRL_REQUIRED", False)
    # The console mail backend prints messages as people read them; each request is shown.
    LOG_FORMAT = env_str("LOG_FORMAT", "text")
    LOG_REQUESTS = env_bool("LOG_REQUESTS", True)


class TestingConfig(Config):
    """pytest: fixed keys, the database chosen by the test run, mail to a local sink."""

    TESTING = True
    SECRET_KEY = "test-secret-key"
    ID_ENCRYPTION_KEYS = "javPMkN6qGyD5C25ICDy92RioLmqf06VvU36Ufiyoy4="
    ID_HASH_KEY = "test-id-hash-key"
    SESSION_COOKIE_SECURE = False
    PREFERRED_URL_SCHEME = "http"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    SQLALCHEMY_ENGINE_OPTIONS = {}
    RATELIMIT_STORAGE_URI = "memory://"
    MAIL_BACKEND = "smtp"
    EXTERNAL_BASE_URL = "http://portal.test"
    # The test CAs publish no CRL unless a test about revocation makes one and turns this on.
    CARD_CRL_REQUIRED = False
    # A live server's worker thread delivers mail soon after the request that queued it.
    WORKER_POLL_SECONDS = 0.2
    # No scheduled job runs on the clock; tests of the schedule turn one on, with a clock.
    HELP_DESK_DIGEST_AT = MANAGER_DIGEST_AT = PURGE_AT = "off"
    # pytest's log capture stays as it is; tests of the log format call it themselves.
    # Request lines are made only where a test lets portal.access log at INFO.
    LOG_FORMAT = "none"
    LOG_REQUESTS = True
    # Each test has its own institutions: the list is read again for every search.
    INSTITUTION_SEARCH_CACHE_SECONDS = 0
    # Still argon2id, at a cost that keeps hundreds of sign-ins in the suite fast.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST_KIB = 1024
    ARGON2_PARALLELISM = 1


class ProductionConfig(Config):
    """gunicorn behind a TLS proxy, PostgreSQL, Redis for rate-limit storage."""


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
