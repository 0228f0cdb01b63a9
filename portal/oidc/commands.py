"""The provider's commands: register a subsystem's client, rotate its secret, rotate the key."""

import os
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.audit.services import Origin
from portal.extensions import db
from portal.oidc import clients, keys
from portal.oidc.models import OidcClient

CLI_ORIGIN = Origin(remote_addr="cli")


def _deliver_secret(secret: str, secret_file: Path | None, client_id: str) -> None:
    """Print the secret once, or write it to a file only its owner reads."""
    if secret_file is None:
        click.echo(f"client_secret（只顯示這一次，請交給子系統保管）：{secret}")
        return
    secret_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret + "\n")
    click.echo(f"{client_id}: client_secret 已寫入 {secret_file}")


@click.command("register-client")
@click.argument("client_id")
@click.option("--subsystem", "subsystem_code", required=True, help="subsystem code, e.g. cessation")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True)
@click.option("--post-logout-redirect-uri", "post_logout_uris", multiple=True)
@click.option("--backchannel-logout-uri")
@click.option("--initiate-login-uri")
@click.option("--national-id/--no-national-id", default=False, help="may receive the ID number")
@click.option("--replace", is_flag=True, help="update an existing client and rotate its secret")
@click.option("--secret-file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def register_client(
    client_id,
    subsystem_code,
    name,
    redirect_uris,
    post_logout_uris,
    backchannel_logout_uri,
    initiate_login_uri,
    national_id,
    replace,
    secret_file,
) -> None:
    """Register a subsystem as a relying party; its secret is shown once (or written to
    --secret-file)."""
    details = clients.ClientDetails(
        client_id=client_id,
        name=name,
        subsystem_code=subsystem_code,
        redirect_uris=tuple(redirect_uris),
        post_logout_redirect_uris=tuple(post_logout_uris),
        backchannel_logout_uri=backchannel_logout_uri,
        initiate_login_uri=initiate_login_uri,
        may_receive_national_id=national_id,
    )
    exists = db.session.scalar(select(OidcClient.id).where(OidcClient.client_id == client_id))
    try:
        if exists and replace:
            clients.update_client(client_id, details, CLI_ORIGIN)
            secret = clients.rotate_secret(client_id, CLI_ORIGIN)
        else:
            _client, secret = clients.register_client(details, CLI_ORIGIN)
    except clients.ClientRefused as error:
        raise click.ClickException(f"{error.field}: {error.message}") from None
    _deliver_secret(secret, secret_file, client_id)


@click.command("rotate-client-secret")
@click.argument("client_id")
@click.option("--secret-file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def rotate_client_secret(client_id, secret_file) -> None:
    """Give a client a new secret; the old one stops working at once."""
    try:
        secret = clients.rotate_secret(client_id, CLI_ORIGIN)
    except clients.NotInScope:
        raise click.ClickException(f"no client {client_id}") from None
    _deliver_secret(secret, secret_file, client_id)


@click.command("rotate-oidc-key")
@with_appcontext
def rotate_oidc_key() -> None:
    """Make a new signing key active; the old one stays published while it retires."""
    new_key, dropped = keys.rotate()
    click.echo(f"active: {new_key.kid} ({new_key.alg})")
    for kid in dropped:
        click.echo(f"removed from the JWKS: {kid}")
    for key in keys.key_summary():
        click.echo(f"  {key.kid}  {key.state.value}  created {key.created_at:%Y-%m-%d %H:%M}Z")
