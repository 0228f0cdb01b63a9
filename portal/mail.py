"""Sending e-mail over SMTP, or to the log in development."""

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import current_app

log = logging.getLogger(__name__)


def send_mail(to: str, subject: str, body: str) -> bool:
    """Send a plain-text message; whether it went out (failures are logged, never raised).

    A notice that cannot be delivered must not undo the decision it reports, so callers
    send after committing and carry on when this returns False.
    """
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if config["MAIL_BACKEND"] == "console":
        log.warning("mail (console backend)\n%s", message.as_string())
        return True
    try:
        with smtplib.SMTP(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT_SECONDS"]
        ) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(message)
        return True
    except (OSError, smtplib.SMTPException):
        log.exception("could not send mail %r to %s", subject, to)
        return False


def external_url(endpoint: str, **values) -> str:
    """A link for an e-mail, on EXTERNAL_BASE_URL, never on whatever host a request named.

    A forged Host header would otherwise put the forger's site in a reset link. The
    setting is required in production and has defaults elsewhere (see create_app).
    """
    parts = urlsplit(current_app.config["EXTERNAL_BASE_URL"])
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
