"""Rotating the ID-number keys: `flask rotate-id-encryption-key` and `flask rotate-id-hash-key`."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select

from portal.accounts.models import Account, StaffRole
from portal.extensions import db
from portal.oidc import keys
from portal.oidc.models import OidcSigningKey
from portal.security.national_ids import decrypt_national_id, national_id_digest
from tests import factories
from tests.functional.helpers import csrf_token, text_of

PEOPLE = factories.NATIONAL_IDS[:4]


@pytest.fixture
def stored(live_app):
    """Four general users with applications, a staff member with a TOTP seed, a signing key."""
    with live_app.app_context():
        applications = {
            national_id: factories.application(factories.account(national_id=national_id))
            for national_id in PEOPLE
        }
        person = factories.staff(StaffRole.HELP_DESK)
        db.session.commit()
        keys.signing_key()
        numbers = {national_id: a.application_no for national_id, a in applications.items()}
        return numbers, person.id


def lookup(app, application_no: str, national_id: str) -> str:
    """The status page's answer for this application number and ID number."""
    client = app.test_client()
    token = csrf_token(client.get("/applications/status").get_data(as_text=True))
    data = {"csrf_token": token, "application_no": application_no, "national_id": national_id}
    return client.post("/applications/status", data=data).get_data(as_text=True)


def stored_values(app) -> list[str]:
    """Every encrypted value the database holds."""
    with app.app_context():
        accounts = db.session.execute(
            select(Account.national_id_encrypted, Account.totp_secret_encrypted)
        ).all()
        signing = db.session.scalars(select(OidcSigningKey.private_jwk_encrypted)).all()
    return [value for row in accounts for value in row if value] + list(signing)


def test_the_encryption_key_is_rotated_and_the_old_one_can_go(live_app, stored):
    numbers, staff_id = stored
    old_key = live_app.config["ID_ENCRYPTION_KEYS"]
    new_key = Fernet.generate_key().decode()
    live_app.config["ID_ENCRYPTION_KEYS"] = f"{new_key},{old_key}"

    result = live_app.test_cli_runner().invoke(args=["rotate-id-encryption-key", "--batch", "2"])

    assert result.exit_code == 0, result.output
    assert "accounts.national_id_encrypted: 5 updated" in result.output
    assert "accounts.totp_secret_encrypted: 1 updated" in result.output
    assert "oidc_signing_keys.private_jwk_encrypted: 1 updated" in result.output
    assert "values still needing an older key: 0" in result.output
    values = stored_values(live_app)
    assert len(values) == 7
    for value in values:
        Fernet(new_key.encode()).decrypt(value.encode())
        with pytest.raises(InvalidToken):
            Fernet(old_key.encode()).decrypt(value.encode())

    # The old key is dropped: ID numbers, the second factor and signing still work.
    live_app.config["ID_ENCRYPTION_KEYS"] = new_key
    with live_app.app_context():
        stored_ids = [
            decrypt_national_id(a.national_id_encrypted)
            for a in db.session.scalars(select(Account).where(Account.staff_role.is_(None)))
        ]
        assert sorted(stored_ids) == sorted(PEOPLE)
        assert factories.totp_code(db.session.get(Account, staff_id)).isdigit()
        assert keys.signing_key() is not None
    for national_id, number in numbers.items():
        assert "單位業務管理者" in text_of(lookup(live_app, number, national_id), "waiting-for")

    again = live_app.test_cli_runner().invoke(args=["rotate-id-encryption-key"])
    assert "accounts.national_id_encrypted: 0 updated" in again.output


def test_the_hash_key_is_rotated_with_look_ups_working_throughout(live_app, stored):
    numbers, _ = stored
    old_key = live_app.config["ID_HASH_KEY"]
    live_app.config.update(ID_HASH_KEY="a-new-id-hash-key", ID_HASH_KEY_PREVIOUS=old_key)
    first_id, first_number = next(iter(numbers.items()))

    # Halfway: the new key is in place, no digest recomputed yet; look-ups still find them.
    assert "單位業務管理者" in text_of(lookup(live_app, first_number, first_id), "waiting-for")

    result = live_app.test_cli_runner().invoke(args=["rotate-id-hash-key", "--batch", "3"])

    assert result.exit_code == 0, result.output
    assert "accounts.national_id_digest: 5 updated" in result.output
    assert "digests not made with ID_HASH_KEY: 0" in result.output
    live_app.config["ID_HASH_KEY_PREVIOUS"] = None
    with live_app.app_context():
        for account in db.session.scalars(select(Account)):
            national_id = decrypt_national_id(account.national_id_encrypted)
            assert account.national_id_digest == national_id_digest(national_id)
            assert account.national_id_digest != national_id_digest(national_id, old_key)
    for national_id, number in numbers.items():
        assert "單位業務管理者" in text_of(lookup(live_app, number, national_id), "waiting-for")
    # A wrong ID number is still refused with the one neutral answer.
    wrong = lookup(live_app, first_number, factories.NATIONAL_IDS[4])
    assert "waiting-for" not in wrong


def test_without_the_previous_key_an_unrotated_digest_is_not_found(live_app, stored):
    numbers, _ = stored
    live_app.config["ID_HASH_KEY"] = "a-new-id-hash-key"
    first_id, first_number = next(iter(numbers.items()))
    assert "waiting-for" not in lookup(live_app, first_number, first_id)
