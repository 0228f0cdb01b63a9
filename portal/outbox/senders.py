"""The mail edge: the only module that speaks SMTP. MAIL_BACKEND names the sender."""

import logging
import smtplib
from email.message import EmailMessage
from typing import Protocol

log = logging.getLogger(__name__)


class SendFailed(Exception):
    """The message did not go out; it may go out on a later try."""


class MailSender(Protocol):
    """Hands one message on; raises SendFailed when it could not."""

    def send(self, message: EmailMessage) -> None:
        """Send it, or raise SendFailed."""


class SmtpSender:
    """MAIL_BACKEND "smtp": one connection per message to MAIL_SERVER."""

    def __init__(self, config) -> None:
        self.server = config["MAIL_SERVER"]
        self.port = config["MAIL_PORT"]
        self.timeout = config["MAIL_TIMEOUT_SECONDS"]
        self.use_tls = config["MAIL_USE_TLS"]
        self.username = config["MAIL_USERNAME"]
        self.password = config["MAIL_PASSWORD"] or ""

    def send(self, message: EmailMessage) -> None:
        """Connect, authenticate if configured, send; any SMTP or network error is SendFailed."""
        try:
            with smtplib.SMTP(self.server, self.port, timeout=self.timeout) as smtp:
                if self.use_tls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            raise SendFailed(f"{type(error).__name__}: {error}") from error


class ConsoleSender:
    """MAIL_BACKEND "console" (development): the message goes to the log instead."""

    def send(self, message: EmailMessage) -> None:
        """Write the message to the log as a person reads it (its links can be followed;
        the wire form would be base64 for Chinese text)."""
        log.warning(
            "mail (console backend)\nTo: %s\nSubject: %s\n\n%s",
            message["To"],
            message["Subject"],
            message.get_content(),
        )


SENDERS = {"smtp": SmtpSender, "console": lambda config: ConsoleSender()}


def sender_from_config(config) -> MailSender:
    """The sender MAIL_BACKEND names."""
    return SENDERS[config["MAIL_BACKEND"]](config)
