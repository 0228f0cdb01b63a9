"""Fixtures for functional tests: compiled message catalogs.

The .mo files are build products (gitignored); `make translations` compiles them. So that
`pytest` also works on a clean checkout, the catalogs are compiled here whenever a .mo is
missing or older than its .po.
"""

import subprocess
import sys
from pathlib import Path

import pytest

TRANSLATIONS = Path(__file__).resolve().parents[2] / "portal" / "translations"


def stale_catalogs(directory: Path = TRANSLATIONS) -> list[Path]:
    """The .po files whose .mo is missing or older than they are."""
    stale = []
    for po in sorted(directory.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            stale.append(po)
    return stale


@pytest.fixture(scope="session", autouse=True)
def compiled_translations() -> None:
    """Compile the catalogs with pybabel (`python -m babel.messages.frontend`) if needed."""
    if not stale_catalogs():
        return
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "compile", "-d", str(TRANSLATIONS)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or stale_catalogs():
        pytest.fail(f"pybabel compile failed:\n{result.stdout}{result.stderr}", pytrace=False)
