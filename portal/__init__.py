"""醫療院所預防保健暨戒菸服務單一入口系統: the Flask application factory."""

import json
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from flask import Flask, current_app, has_request_context, session
from flask_babel import get_locale
from werkzeug.routing import IntegerConverter

from portal.config import CONFIGS, DEFAULT_INSTANCE_PATH, MANAGER_NOTICE_MODES
from portal.db_types import MAX_ID
from portal.errors import register_error_pages
from portal.extensions import babel, csrf, db, htmx, limiter, login_manager, migrate
from portal.i18n import init_template_translations, lazy_gettext
from portal.localtime import local_date, local_datetime_text, local_day_text
from portal.observability import init_observability
from portal.observability.logs import LOG_FORMATS
from portal.outbox.senders import SENDERS
from portal.proxy import wrap_for_proxies
from portal.rendering import init_body_limits
from portal.request_text import init_text_checks
from portal.security.headers import init_security_headers
from portal.sqlite import configure_sqlite
from portal.templating import init_templating
from portal.widgets import use_fast_html_params

SECRET_SETTINGS = ("SECRET_KEY", "ID_ENCRYPTION_KEYS", "ID_HASH_KEY")


class DatabaseId(IntegerConverter):
    """`<int:…>` in a route: only numbers a database id column can hold.

    A larger one is no row of ours, so the route does not match and the answer is 404;
    PostgreSQL would refuse it as out of range for integer, which became a 500.
    """

    def __init__(self, map, **kwargs) -> None:  # noqa: A002  (werkzeug's name)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, **kwargs)


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    """Build the portal: configuration, extensions, blueprints, error pages and commands."""
    config_name = config_name or os.environ.get("PORTAL_ENV", "production")
    instance_path = os.environ.get("PORTAL_INSTANCE_PATH", str(DEFAULT_INSTANCE_PATH))
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.url_map.converters["int"] = DatabaseId
    app.config.from_object(CONFIGS[config_name])
    app.config.from_pyfile("portal.cfg", silent=True)
    app.config.update(overrides or {})
    _ensure_secrets(app, config_name)
    _check_choices(app)
    _check_external_address(app, config_name)
    if config_name == "production":
        _refuse_per_process_rate_limits(app)
    wrap_for_proxies(app)

    _init_extensions(app)
    _register_blueprints(app)
    from portal.oidc.server import init_provider

    init_provider(app)
    register_error_pages(app)
    init_security_headers(app)

    from portal.cli import register_commands

    register_commands(app)
    return app


def _ensure_secrets(app: Flask, config_name: str) -> None:
    """Production must be given its keys; development keeps generated ones in instance/."""
    missing = [name for name in SECRET_SETTINGS if not app.config.get(name)]
    if not missing:
        return
    if config_name == "production":
        raise RuntimeError(f"set these in the environment: {', '.join(missing)}")
    path = Path(app.instance_path) / "secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    generated = {
        "SECRET_KEY": secrets.token_urlsafe(32),
        "ID_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ID_HASH_KEY": secrets.token_urlsafe(32),
    }
    for name in missing:
        stored.setdefault(name, generated[name])
        app.config[name] = stored[name]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stored, indent=2))
    path.chmod(0o600)


def _check_choices(app: Flask) -> None:
    """Settings that name one of a few behaviours must name a known one."""
    for name, choices in (
        ("MANAGER_NOTICE", MANAGER_NOTICE_MODES),
        ("MAIL_BACKEND", tuple(SENDERS)),
        ("LOG_FORMAT", LOG_FORMATS),
    ):
        if app.config[name] not in choices:
            raise RuntimeError(
                f"{name} must be one of {', '.join(choices)}, not {app.config[name]!r}"
            )
    from portal.schedule.jobs import JOBS
    from portal.schedule.services import time_of_day

    for job in JOBS:
        try:
            time_of_day(app.config[job.time_setting])
        except ValueError:
            raise RuntimeError(
                f"{job.time_setting} must be a Taipei time of day such as 08:00, or off; "
                f"not {app.config[job.time_setting]!r}"
            ) from None


def _check_external_address(app: Flask, config_name: str) -> None:
    """E-mail links need the portal's own address; production answers only for its hosts.

    Without these, a request naming another Host would get links to that host e-mailed
    (a reset link to a forger's site) and pages built on it.
    """
    base = app.config["EXTERNAL_BASE_URL"]
    if not base:
        raise RuntimeError(
            "set EXTERNAL_BASE_URL, the portal's address as people reach it, "
            "such as https://portal.example.gov.tw"
        )
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RuntimeError(
            f"EXTERNAL_BASE_URL must be an http(s) address such as "
            f"https://portal.example.gov.tw, not {base!r}"
        )
    if config_name == "production" and app.config["TRUSTED_HOSTS"] is None:
        app.config["TRUSTED_HOSTS"] = [parts.hostname]


def _refuse_per_process_rate_limits(app: Flask) -> None:
    """Production must keep its rate limits where every worker counts the same tries.

    With `memory://`, each gunicorn worker counts on its own: four workers let a password
    guesser or a status-lookup scraper try four times as often as the limits say.
    """
    storage = app.config["RATELIMIT_STORAGE_URI"]
    if app.config["RATELIMIT_ENABLED"] and storage.startswith("memory://"):
        raise RuntimeError(
            "set RATELIMIT_STORAGE_URI to a store all workers share, such as "
            "redis://127.0.0.1:6379/0 (or RATELIMIT_ENABLED=false to run without limits)"
        )


def _select_locale() -> str:
    """The language the person chose, else the portal's default (Traditional Chinese)."""
    chosen = session.get("language") if has_request_context() else None
    return (
        chosen
        if chosen in current_app.config["LANGUAGES"]
        else current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def _init_extensions(app: Flask) -> None:
    configure_sqlite()
    # First: the request id and the request's timer start before any other hook.
    init_observability(app)
    # Before CSRF protection, which reads the form: upload views raise the body limit first,
    # then text no page sends (NUL) is refused.
    init_body_limits(app)
    init_text_checks(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    init_template_translations(app)
    use_fast_html_params()
    init_templating(app)
    htmx.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from portal.accounts.labels import ROLE_LABELS, STAFF_ROLE_LABELS
    from portal.auth.session import load_account, unauthorized

    login_manager.user_loader(load_account)
    login_manager.unauthorized_handler(unauthorized)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("請先登入。")

    @app.context_processor
    def template_globals() -> dict:
        locale = str(get_locale())
        return {
            "current_locale": locale,
            "html_lang": "zh-Hant-TW" if locale.startswith("zh") else locale,
            "role_labels": ROLE_LABELS,
            "staff_role_labels": STAFF_ROLE_LABELS,
        }


def _register_blueprints(app: Flask) -> None:
    from portal.accounts.views import bp as accounts_bp
    from portal.admin.calendar_views import bp as admin_calendar_bp
    from portal.admin.institution_views import bp as admin_institutions_bp
    from portal.admin.subsystem_views import bp as admin_subsystems_bp
    from portal.admin.views import bp as admin_bp
    from portal.auth.views import bp as auth_bp
    from portal.changes.views import bp as changes_bp
    from portal.content.admin_views import bp as content_admin_bp
    from portal.content.views import bp as content_bp
    from portal.institutions.views import bp as institutions_bp
    from portal.manager.views import bp as manager_bp
    from portal.oidc.admin_views import bp as oidc_admin_bp
    from portal.oidc.views import bp as oidc_bp
    from portal.registration.views import bp as registration_bp
    from portal.review.views import bp as review_bp
    from portal.subsystems.views import bp as subsystems_bp
    from portal.subsystems.views import mine_bp as my_subsystems_bp
    from portal.verification.views import bp as verification_bp

    for blueprint in (
        content_bp,
        institutions_bp,
        registration_bp,
        auth_bp,
        accounts_bp,
        manager_bp,
        changes_bp,
        subsystems_bp,
        my_subsystems_bp,
        oidc_bp,
        oidc_admin_bp,
        admin_bp,
        admin_institutions_bp,
        admin_subsystems_bp,
        admin_calendar_bp,
        verification_bp,
        review_bp,
        content_admin_bp,
    ):
        app.register_blueprint(blueprint)
    app.add_template_filter(lambda moment: local_date(moment).isoformat(), "local_date")
    app.add_template_filter(local_datetime_text, "local_datetime")
    app.add_template_filter(local_day_text, "day")
