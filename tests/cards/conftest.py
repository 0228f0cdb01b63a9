"""Fixtures for the card tests: SoftHSM2 and the helper's API.

The test PKI and the PC/SC stack (root_ca, issuing_ca, trust_anchors, card_identity,
pcsc_stack, insert_card) are in tests/cards/fixtures.py, shared with the browser tests.
The real parts themselves live in tests/cards/stack.py. Every process a fixture starts
(SoftHSM2 tokens, helper servers), it stops.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from card_helper.backends.base import CardBackend
from card_helper.backends.pcsc import PcscBackend
from card_helper.server import HelperConfig, HelperServer
from card_helper.service import CardService
from tests.cards.pki import CardIdentity
from tests.cards.stack import (
    PORTAL_ORIGIN,
    PcscStack,
    SoftHsmToken,
    init_softhsm_token,
    softhsm_config,
)

# --- PKCS#11: SoftHSM2 --------------------------------------------------------------------


@pytest.fixture(scope="session")
def softhsm_token(
    tmp_path_factory: pytest.TempPathFactory, card_identity: CardIdentity
) -> Iterator[SoftHsmToken]:
    """SoftHSM2 with its own config (SOFTHSM2_CONF) and token directory for the session."""
    workdir = tmp_path_factory.mktemp("softhsm")
    previous = os.environ.get("SOFTHSM2_CONF")
    # Read by softhsm2-util and by the module once loaded into this process.
    os.environ["SOFTHSM2_CONF"] = str(softhsm_config(workdir))
    try:
        yield init_softhsm_token(workdir, card_identity)
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous


# --- the helper's HTTP API ----------------------------------------------------------------


@dataclass(frozen=True)
class RunningHelper:
    """A helper server on 127.0.0.1 and its base URL."""

    server: HelperServer
    url: str


@pytest.fixture
def helper_server(pcsc_stack: PcscStack) -> Iterator[Callable[..., RunningHelper]]:
    """Start the helper's HTTP server in-process on a free port (PC/SC backend by default)."""
    started: list[tuple[HelperServer, threading.Thread]] = []

    def start(
        *, timeout: float = 10.0, backend: CardBackend | None = None, origin: str = PORTAL_ORIGIN
    ) -> RunningHelper:
        config = HelperConfig(origins=(origin,), port=0, timeout=timeout)
        server = HelperServer(config, CardService(backend or PcscBackend(), timeout))
        # A short poll interval makes shutdown() at teardown quick.
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        started.append((server, thread))
        return RunningHelper(server, f"http://127.0.0.1:{server.port}")

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        server.service.close()
        thread.join(timeout=5)
