"""Second factor for staff: time-based one-time passwords (RFC 6238) with pyotp."""

from datetime import datetime

import pyotp
import segno
from flask import current_app

from portal.accounts.models import Account
from portal.security.encryption import decrypt_text, encrypt_text

# Seconds per TOTP step, and how many steps of clock drift are forgiven either way.
STEP_SECONDS = 30
VALID_WINDOW = 1


def begin_enrolment(account: Account) -> str:
    """Give the account a new, unconfirmed seed; returns the seed (shown once)."""
    secret = pyotp.random_base32()
    account.totp_secret_encrypted = encrypt_text(secret)
    account.totp_confirmed_at = None
    account.totp_last_step = None
    return secret


def enrolment_secret(account: Account) -> str:
    """The unconfirmed seed the person is enrolling with; a new one only if there is none."""
    if account.totp_secret_encrypted and account.totp_confirmed_at is None:
        return decrypt_text(account.totp_secret_encrypted)
    return begin_enrolment(account)


def provisioning_qr(account: Account, secret: str) -> str:
    """An SVG data URI of the QR code an authenticator app scans."""
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=account.username, issuer_name=current_app.config["TOTP_ISSUER"]
    )
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def matching_step(account: Account, code: str, now: datetime) -> int | None:
    """The time step whose code this is, within the drift allowed; None if it matches none.

    Whether the step was used already is not decided here: the caller claims it atomically.
    """
    if not account.totp_secret_encrypted or not code.strip().isdigit():
        return None
    totp = pyotp.TOTP(decrypt_text(account.totp_secret_encrypted))
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        step = int(now.timestamp()) // STEP_SECONDS + offset
        if totp.at(step * STEP_SECONDS) == code.strip():
            return step
    return None
