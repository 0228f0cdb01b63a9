"""The PC/SC backend against a real pcscd, vpcd's reader and the virtual card."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from card_helper import apdu
from card_helper.backends.base import (
    ALGORITHM_RSA,
    CardRemoved,
    CardTimeout,
    NoCard,
    PinBlocked,
    WrongPin,
)
from card_helper.backends.pcsc import PcscBackend
from card_helper.service import CardService
from portal.verification import verify_card_signature
from tests.cards.helper_client import portal_challenge
from tests.cards.pki import INSTITUTION_CODE
from tests.cards.stack import CARD_PIN, PORTAL_ORIGIN

WRONG_PIN = "000000"


def test_status_lists_the_reader_and_the_card(insert_card):
    backend = PcscBackend()
    readers = backend.status().readers
    assert readers and readers[0].name.startswith("Virtual PCD")
    assert not backend.status().card_present
    insert_card()
    assert backend.status().card_present


def test_the_card_signs_and_the_portal_accepts_it(insert_card, card_identity, trust_anchors):
    insert_card()
    challenge = portal_challenge()
    result = PcscBackend().sign(challenge, CARD_PIN)
    assert result.algorithm == ALGORITHM_RSA
    assert result.certificate_der == card_identity.certificate_der
    assert result.reader.startswith("Virtual PCD")
    verified = verify_card_signature(
        result.certificate_der,
        result.signature,
        challenge,
        trust_anchors=trust_anchors,
        expected_institution_code=INSTITUTION_CODE,
        now=datetime.now(UTC),
    )
    assert verified.institution_code == INSTITUTION_CODE


def test_a_wrong_pin_says_how_many_tries_are_left(insert_card):
    insert_card()
    backend = PcscBackend()
    for expected_left in (2, 1):
        with pytest.raises(WrongPin) as caught:
            backend.sign(portal_challenge(), WRONG_PIN)
        assert caught.value.tries_left == expected_left
        assert f"還可以再試 {expected_left} 次" in caught.value.message
    # The right PIN before the tries run out resets the counter.
    backend.sign(portal_challenge(), CARD_PIN)
    with pytest.raises(WrongPin) as caught:
        backend.sign(portal_challenge(), WRONG_PIN)
    assert caught.value.tries_left == 2


def test_three_wrong_pins_block_the_card(insert_card):
    insert_card()
    backend = PcscBackend()
    for _ in range(2):
        with pytest.raises(WrongPin):
            backend.sign(portal_challenge(), WRONG_PIN)
    with pytest.raises(PinBlocked) as caught:
        backend.sign(portal_challenge(), WRONG_PIN)
    assert "鎖住" in caught.value.message
    with pytest.raises(PinBlocked):  # even the right PIN cannot open it now
        backend.sign(portal_challenge(), CARD_PIN)


def test_an_empty_reader_is_no_card(pcsc_stack, insert_card):
    with pytest.raises(NoCard) as caught:
        PcscBackend().sign(portal_challenge(), CARD_PIN)
    assert "插入機構卡" in caught.value.message


def test_a_card_removed_before_signing_is_no_card(insert_card):
    insert_card().remove()
    with pytest.raises(NoCard):
        PcscBackend().sign(portal_challenge(), CARD_PIN)


@pytest.mark.parametrize("instruction", [apdu.INS_VERIFY, apdu.INS_PSO])
def test_a_card_pulled_out_during_the_operation_is_reported(insert_card, instruction):
    insert_card(vanish_on_ins=instruction)
    with pytest.raises(CardRemoved) as caught:
        PcscBackend().sign(portal_challenge(), CARD_PIN)
    assert "卡片被拔出" in caught.value.message


def test_a_card_that_does_not_answer_in_time_times_out(insert_card):
    insert_card(sign_delay=1.5)
    service = CardService(PcscBackend(), timeout=0.5)
    try:
        with pytest.raises(CardTimeout) as caught:
            service.sign(portal_challenge(), CARD_PIN, PORTAL_ORIGIN)
        assert "沒有在時間內回應" in caught.value.message
    finally:
        service.close()


def test_only_readers_matching_the_filter_are_used(insert_card):
    insert_card()
    assert PcscBackend(reader_filter="Virtual PCD").status().card_present
    assert PcscBackend(reader_filter="No such reader").status().readers == []
