"""`flask rotate-id-encryption-key` and `flask rotate-id-hash-key` (see security/rotation)."""

import click
from flask.cli import with_appcontext

from portal.security import rotation


def _report(report: rotation.RotationReport, left_label: str) -> None:
    for column, count in report.changed.items():
        click.echo(f"{column}: {count} updated")
    click.echo(f"{left_label}: {report.left_behind}")


@click.command("rotate-id-encryption-key")
@click.option("--batch", default=rotation.DEFAULT_BATCH, show_default=True, help="rows per commit")
@with_appcontext
def rotate_id_encryption_key(batch: int) -> None:
    """Re-encrypt ID numbers, TOTP seeds and signing keys with the first ID_ENCRYPTION_KEYS key.

    Put the new key first in ID_ENCRYPTION_KEYS on every node, restart them, run this; when
    it reports 0 still needing an older key, remove the old key and restart again.
    """
    report = rotation.rotate_encryption(batch)
    _report(report, "values still needing an older key")
    if report.left_behind:
        raise click.ClickException("some values were not re-encrypted; run the command again")


@click.command("rotate-id-hash-key")
@click.option("--batch", default=rotation.DEFAULT_BATCH, show_default=True, help="rows per commit")
@with_appcontext
def rotate_id_hash_key(batch: int) -> None:
    """Recompute every ID-number digest with ID_HASH_KEY (the old one in ID_HASH_KEY_PREVIOUS).

    When it reports 0 stale digests, remove ID_HASH_KEY_PREVIOUS and restart the nodes.
    """
    report = rotation.rotate_digests(batch)
    _report(report, "digests not made with ID_HASH_KEY")
    if report.left_behind:
        raise click.ClickException("some digests are stale; run the command again")
