"""Timing the portal's server-side check of an institution card's answer, in-process.

What is timed is `verify_with_card`, the service behind POST /verification/card: the
application and its challenge read, the challenge claimed (once only), the trust anchors
read from their directory, the chain, validity, key usage, policy and institution code of
the certificate checked, the signature over the challenge verified, and the account opened
with its audit event, all committed. What a browser and the card helper do around it
(issuing the challenge, the card signing it) is set up before the clock starts.

The card comes from the tests' PKI (tests/cards/pki.py): a root and an issuing CA in the
shape of HCA's, both in the anchors directory as production configures them, and the issuing
CA's current CRL, listing other revoked cards, in the CRL directory (production requires one).
"""

import base64
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from flask import Flask

from bench.seed import SeedContext, seed_manager_applications
from bench.timings import Timings, time_calls
from portal.audit.services import Origin
from portal.db_types import utcnow
from portal.extensions import db
from portal.institutions.demo_data import DEMO_CLINIC
from portal.institutions.models import Institution
from portal.registration.models import Application, ApplicationState
from portal.verification import load_trust_anchors, verify_card_signature
from portal.verification.challenges import challenge_bytes
from portal.verification.revocation import RevocationLists, load_crls
from portal.verification.services import issue_challenge, verify_with_card
from tests.cards.pki import (
    CardIdentity,
    CardOptions,
    crl_der,
    issue_card,
    issue_crl,
    make_authority,
)

WARMUP = 5
# Cards on the issuing CA's CRL: a CA's list holds thousands (each card revoked before it
# expired, lost, or of a closed clinic).
REVOKED_ON_THE_CRL = 5_000
ORIGIN = Origin(remote_addr="127.0.0.1", user_agent="bench.card_check")
# The portal's origin as the card page's browser reached it: what its challenges name.
PORTAL_ORIGIN = "https://portal.example.gov.tw"


@dataclass(frozen=True)
class BenchCard:
    """A card of the demo clinic, and the directories of the CAs that issued it and their CRL."""

    identity: CardIdentity
    anchors_dir: Path
    crl_dir: Path

    def sign(self, challenge: bytes) -> bytes:
        """What the card returns for a challenge: RSA PKCS#1 v1.5 over SHA-256."""
        return self.identity.key.sign(challenge, padding.PKCS1v15(), hashes.SHA256())


def make_test_card(anchors_dir: Path, crl_dir: Path) -> BenchCard:
    """Root and issuing CA written to `anchors_dir`, the issuing CA's CRL to `crl_dir`, and a
    card they issued for the demo clinic."""
    root = make_authority("測試醫事憑證管理中心 根憑證")
    issuing = make_authority("測試醫事憑證管理中心 機構卡", issuer=root)
    anchors_dir.mkdir(parents=True, exist_ok=True)
    for name, authority in (("root.pem", root), ("issuing.pem", issuing)):
        pem = authority.certificate.public_bytes(serialization.Encoding.PEM)
        (anchors_dir / name).write_bytes(pem)
    identity = issue_card(issuing, CardOptions(institution_code=DEMO_CLINIC.code))
    crl_dir.mkdir(parents=True, exist_ok=True)
    revoked = [x509.random_serial_number() for _ in range(REVOKED_ON_THE_CRL)]
    (crl_dir / "issuing.crl").write_bytes(crl_der(issue_crl(issuing, revoked)))
    return BenchCard(identity, anchors_dir, crl_dir)


def seed_applicants(app: Flask, context: SeedContext, start: int, count: int) -> list[int]:
    """Applications for `count` measured checks (and the cold and warm-up ones); their ids.

    Manager applications of the demo clinic awaiting verification, account indices from
    `start` on.
    """
    with app.app_context():
        clinic = db.session.scalar(
            sa.select(Institution.id).where(Institution.code == DEMO_CLINIC.code)
        )
    stop = start + count + WARMUP + 1
    seed_manager_applications(
        app, context, start, stop, ApplicationState.AWAITING_VERIFICATION, [clinic]
    )
    # seed.py gives account index i the ids i + 1.
    return list(range(start + 1, stop + 1))


def time_service(app: Flask, card: BenchCard, application_ids: list[int]) -> Timings:
    """The whole service, each call on a fresh challenge of a fresh application."""
    app.config["CARD_TRUST_ANCHORS_DIR"] = str(card.anchors_dir)
    app.config["CARD_CRL_DIR"] = str(card.crl_dir)
    count = len(application_ids) - WARMUP - 1
    with app.app_context():
        # A fresh pool: the session then keeps the one connection whose backend is watched.
        db.engine.dispose()
        backend = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        db.session.commit()
        timings = time_calls(partial(_service_call, card, application_ids), count, WARMUP, backend)
        _check_all_approved(application_ids)
        db.engine.dispose()
    return timings


def _service_call(card: BenchCard, application_ids: list[int], index: int) -> Callable[[], object]:
    """The index-th check: its challenge issued and signed before the clock starts.

    As in the portal, the challenge is issued in one request and answered in another, each
    with a session of its own; the answer's request reads the application before it calls
    the service (POST /verification/card), and that read is not the service's.
    """
    application = db.session.get(Application, application_ids[index])
    challenge = issue_challenge(application, PORTAL_ORIGIN)
    signature = card.sign(base64.b64decode(challenge.encoded))
    db.session.remove()
    application = db.session.get(Application, application_ids[index])
    return partial(
        verify_with_card,
        application,
        challenge.id,
        card.identity.certificate_der,
        signature,
        ORIGIN,
        PORTAL_ORIGIN,
    )


def _check_all_approved(application_ids: list[int]) -> None:
    """Every application checked was opened: the series timed successes, not refusals."""
    approved = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Application)
        .where(
            Application.id.in_(application_ids),
            Application.state == ApplicationState.APPROVED,
            Application.verified_by == "card",
        )
    )
    if approved != len(application_ids):
        raise RuntimeError(f"only {approved} of {len(application_ids)} card checks succeeded")


def time_certificate_checks(card: BenchCard, count: int) -> Timings:
    """The certificate and signature checks alone: no database, anchors and CRL loaded (and
    the CRL's signature checked) once, as the portal keeps them."""
    anchors = load_trust_anchors(card.anchors_dir)
    crls = RevocationLists(load_crls(card.crl_dir))

    def prepare(index: int) -> Callable[[], object]:
        """A distinct challenge per call, signed before the clock starts."""
        nonce = base64.b64encode(index.to_bytes(32, "big")).decode()
        challenge = challenge_bytes(PORTAL_ORIGIN, nonce)
        signature = card.sign(challenge)
        return partial(
            verify_card_signature,
            card.identity.certificate_der,
            signature,
            challenge,
            trust_anchors=anchors,
            expected_institution_code=DEMO_CLINIC.code,
            now=utcnow(),
            crls=crls,
            require_crl=True,
        )

    return time_calls(prepare, count, WARMUP)
