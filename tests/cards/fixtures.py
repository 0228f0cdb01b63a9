"""Card fixtures shared by tests/cards and tests/browser: the test PKI and the PC/SC stack.

Registered for the whole suite by `pytest_plugins` in tests/conftest.py, so that one
session has one pcscd (a second `pcsc_stack` would take the first's private pcscd for
Debian's and point its cards at the wrong vpcd port). The real parts live in
tests/cards/stack.py; every process a fixture starts, it stops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509

from tests.cards.pki import Authority, CardIdentity, issue_card, make_authority
from tests.cards.stack import (
    InsertedCard,
    PcscStack,
    card_present,
    insert_virtual_card,
    start_pcsc_stack,
    wait_until,
)

# --- the test PKI -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def root_ca() -> Authority:
    """The test root CA (stands in for the HCA root)."""
    return make_authority("測試醫事憑證管理中心根憑證")


@pytest.fixture(scope="session")
def issuing_ca(root_ca: Authority) -> Authority:
    """The issuing CA under the root (stands in for HCA's institution-card CA)."""
    return make_authority("測試醫事憑證管理中心", issuer=root_ca)


@pytest.fixture(scope="session")
def trust_anchors(root_ca: Authority, issuing_ca: Authority) -> list[x509.Certificate]:
    """The anchors the portal is configured with: root and issuing CA."""
    return [root_ca.certificate, issuing_ca.certificate]


@pytest.fixture(scope="session")
def card_identity(issuing_ca: Authority) -> CardIdentity:
    """A valid institution card of 3501200000."""
    return issue_card(issuing_ca)


# --- PC/SC: pcscd + vpcd + the virtual card -----------------------------------------------


@pytest.fixture(scope="session")
def pcsc_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscStack]:
    """pcscd with the vpcd reader: reused when running, else started for the session."""
    stack = start_pcsc_stack(tmp_path_factory.mktemp("pcscd"))
    yield stack
    stack.stop()


InsertCard = Callable[..., InsertedCard]


@pytest.fixture
def insert_card(
    pcsc_stack: PcscStack, card_identity: CardIdentity, tmp_path: Path
) -> Iterator[InsertCard]:
    """Insert a virtual card (the valid one unless told) and wait until PC/SC sees it."""
    inserted: list[InsertedCard] = []

    def insert(identity: CardIdentity = card_identity, **options: object) -> InsertedCard:
        card = insert_virtual_card(pcsc_stack, identity, tmp_path, **options)  # type: ignore[arg-type]
        inserted.append(card)
        return card

    wait_until(lambda: not card_present(), 5, "an empty reader before inserting a card")
    yield insert
    for card in inserted:
        card.remove()
