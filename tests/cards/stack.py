"""The real parts behind the card tests: pcscd + vpcd, virtual card processes, SoftHSM2.

PC/SC: `pcscd` with vsmartcard's `vpcd` reader driver (Debian: pcscd, vsmartcard-vpcd) and a
virtual card process that connects to vpcd. A pcscd that is already running is reused (it
must have Debian's vpcd entry, port 35963); otherwise the tests start their own, with a
private reader.conf.d whose vpcd port lies below the kernel's ephemeral range: vpcd cannot
open its two ports (p, p+1) while a client socket happens to hold one of them, and Debian's
35963/35964 sit inside that range. PKCS#11: a SoftHSM2 token in a temporary directory.
The helper itself, for tests that need it as a process: `python -m card_helper`.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from card_helper.backends.base import CardError
from card_helper.backends.pcsc import PcscBackend
from tests.cards.pki import CardIdentity

ROOT = Path(__file__).resolve().parents[2]
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
PCSCD_PID_FILE = Path("/run/pcscd/pcscd.pid")
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
DEBIAN_VPCD_PORT = 35963
CARD_PIN = "123456"
PORTAL_ORIGIN = "http://127.0.0.1:5000"  # the origin the helper is configured to answer
SO_PIN = "12345678"

# pcscd 1.9.9 loses track of a card inserted within about a second after another one
# vanished in the middle of an operation (its SCardDisconnect error path marks the reader
# empty behind the event thread's back): the new card then never shows up. Waiting two of
# pcscd's 400 ms polling rounds after such a removal lets its state settle.
SETTLE_AFTER_ABRUPT_REMOVAL = 1.0


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds, or fail the test saying what did not happen."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}", pytrace=False)
        time.sleep(0.05)


def card_present() -> bool:
    """Whether pcscd sees a card in any reader (False while it is unreachable)."""
    try:
        return PcscBackend().status().card_present
    except CardError:
        return False


def readers_listed() -> bool:
    """Whether pcscd lists vpcd's reader."""
    try:
        return any(r.name.startswith("Virtual PCD") for r in PcscBackend().status().readers)
    except CardError:
        return False


@dataclass
class PcscStack:
    """A pcscd with vpcd's reader, listening for virtual cards on `vpcd_port`."""

    vpcd_port: int
    process: subprocess.Popen | None = None  # None: someone else's pcscd, left running

    def stop(self) -> None:
        """Stop our pcscd, if we started it."""
        if self.process is not None:
            _stop(self.process)
            self.process = None


def start_pcsc_stack(workdir: Path) -> PcscStack:
    """Reuse a running pcscd, or start one with only the vpcd reader, logging to workdir."""
    if shutil.which("pcscd") is None or not VPCD_DRIVER.exists():
        pytest.fail("card tests need Debian's pcscd and vsmartcard-vpcd", pytrace=False)
    if _pcscd_running():
        wait_until(readers_listed, 5, "the running pcscd to list vpcd's 'Virtual PCD' reader")
        return PcscStack(DEBIAN_VPCD_PORT)
    for stale in (PCSCD_SOCKET, PCSCD_PID_FILE):  # left by a pcscd that was killed
        stale.unlink(missing_ok=True)
    port = _free_port_pair()
    config = workdir / "reader.conf.d"
    config.mkdir()
    (config / "vpcd").write_text(
        f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:0x{port:04X}\nLIBPATH {VPCD_DRIVER}\n'
    )
    with open(workdir / "pcscd.log", "wb") as log:
        command = ["pcscd", "--foreground", "--config", str(config)]
        stack = PcscStack(port, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
    try:
        wait_until(readers_listed, 10, f"pcscd to list vpcd's reader (see {workdir}/pcscd.log)")
    except BaseException:
        stack.stop()
        raise
    return stack


def _pcscd_running() -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(PCSCD_SOCKET))
        except OSError:
            return False
    return True


def _free_port_pair() -> int:
    """A port p with p and p+1 free, below the ephemeral range (vpcd uses two slots)."""
    for port in range(24410, 32000, 2):
        try:
            for candidate in (port, port + 1):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for vpcd")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class InsertedCard:
    """A virtual card process in vpcd's reader; `remove()` pulls it out."""

    def __init__(self, process: subprocess.Popen, *, abrupt: bool) -> None:
        self.process = process
        self.abrupt = abrupt  # it may vanish, or be pulled out, in mid-operation

    def remove(self) -> None:
        """Stop the card and wait until PC/SC has noticed."""
        if self.process.poll() is None:
            if self.process.stdin:
                self.process.stdin.close()  # the card's signal to leave
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        wait_until(lambda: not card_present(), 5, "pcscd to notice the card is gone")
        if self.abrupt:
            time.sleep(SETTLE_AFTER_ABRUPT_REMOVAL)
            self.abrupt = False


def insert_virtual_card(
    stack: PcscStack,
    identity: CardIdentity,
    workdir: Path,
    *,
    pin: str = CARD_PIN,
    sign_delay: float = 0.0,
    vanish_on_ins: int | None = None,
    foreign: bool = False,
) -> InsertedCard:
    """Start a virtual card process with this key and certificate; wait until PC/SC sees it."""
    key_file, certificate_file = workdir / "card-key.pem", workdir / "card-cert.der"
    key_file.write_bytes(identity.key_pkcs8_pem())
    certificate_file.write_bytes(identity.certificate_der)
    command = [sys.executable, "-m", "tests.cards.virtual_card", "--port", str(stack.vpcd_port)]
    command += ["--key", str(key_file), "--certificate", str(certificate_file), "--pin", pin]
    command += ["--sign-delay", str(sign_delay)]
    if vanish_on_ins is not None:
        command += ["--vanish-on-ins", hex(vanish_on_ins)]
    if foreign:
        command += ["--foreign"]
    process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    card = InsertedCard(process, abrupt=vanish_on_ins is not None or sign_delay > 0)
    try:
        wait_until(
            lambda: card_present() or process.poll() is not None,
            10,
            "the virtual card to be seen by pcscd",
        )
        assert process.poll() is None, "the virtual card process died"
    except BaseException:
        card.remove()
        raise
    return card


@dataclass(frozen=True)
class SoftHsmToken:
    """A SoftHSM2 token labelled "card" holding the card's key and certificate."""

    module: str
    pin: str
    identity: CardIdentity


def init_softhsm_token(workdir: Path, identity: CardIdentity) -> SoftHsmToken:
    """A token in workdir, as an HCA card holds it: key and certificate sharing CKA_ID 01.

    The caller points SOFTHSM2_CONF at workdir/softhsm2.conf first.
    """
    if not SOFTHSM_MODULE.exists() or shutil.which("pkcs11-tool") is None:
        pytest.fail("PKCS#11 tests need Debian's softhsm2 and opensc", pytrace=False)
    key_file, certificate_file = workdir / "key.pk8", workdir / "cert.der"
    key_file.write_bytes(identity.key_pkcs8_pem())
    certificate_file.write_bytes(identity.certificate_der)
    token = ["--token", "card", "--label", "card", "--id", "01", "--pin", CARD_PIN]
    _run("softhsm2-util", "--init-token", "--free", "--label", "card", "--pin", CARD_PIN,
         "--so-pin", SO_PIN)  # fmt: skip
    _run("softhsm2-util", "--import", str(key_file), *token)
    _run("pkcs11-tool", "--module", str(SOFTHSM_MODULE), "--token-label", "card",
         "--write-object", str(certificate_file), "--type", "cert", "--id", "01",
         "--label", "card", "--login", "--pin", CARD_PIN)  # fmt: skip
    return SoftHsmToken(str(SOFTHSM_MODULE), CARD_PIN, identity)


def softhsm_config(workdir: Path) -> Path:
    """A SoftHSM2 configuration keeping its tokens in workdir/tokens."""
    (workdir / "tokens").mkdir()
    config = workdir / "softhsm2.conf"
    config.write_text(
        f"directories.tokendir = {workdir / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n"
    )
    return config


def _run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"{command[0]} failed:\n{result.stdout}{result.stderr}", pytrace=False)


@dataclass(frozen=True)
class HelperProcess:
    """`python -m card_helper` running on 127.0.0.1: its URL, process and log file."""

    url: str
    process: subprocess.Popen
    log: Path


@contextmanager
def helper_process(
    origin: str,
    workdir: Path,
    *,
    env: dict[str, str] | None = None,
    port: int = 0,
    options: Sequence[str] = (),
) -> Iterator[HelperProcess]:
    """Run the helper as a clinic does, on `port` (0: a free one), for `origin`; stop it
    afterwards.

    Its log (stderr) goes to workdir/card-helper.log; the port comes from its banner.
    """
    log = workdir / "card-helper.log"
    command = [sys.executable, "-m", "card_helper", "--origin", origin, "--port", str(port)]
    command += ["--backend", "pcsc", *options]
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 15)
        banner = process.stdout.readline() if ready else ""
        started = re.search(r"listening on (http://127\.0\.0\.1:\d+) ", banner)
        if started is None:
            pytest.fail(f"card_helper did not start:\n{log.read_text()}", pytrace=False)
        yield HelperProcess(started[1], process, log)
    finally:
        if process.poll() is None:
            _stop(process)
        process.stdout.close()
