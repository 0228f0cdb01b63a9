"""Command-line tasks: `flask import-institutions`, `flask load-demo`, `flask calendar-override`,
`flask create-staff`, `flask manager-digest`."""

from datetime import date
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from portal.extensions import db
from portal.institutions.importer import parse_institutions_csv
from portal.institutions.services import upsert_institutions


def register_commands(app: Flask) -> None:
    """Attach the portal's commands to `flask`."""
    app.cli.add_command(import_institutions)
    app.cli.add_command(load_demo)
    app.cli.add_command(calendar_override)
    app.cli.add_command(create_staff)
    app.cli.add_command(manager_digest)


@click.command("import-institutions")
@with_appcontext
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_institutions(csv_file: Path) -> None:
    """Load institutions from a CSV file (UTF-8 or Big5); bad rows are reported, good ones kept.

    Columns: code,name,kind,county[,active] or 機構代碼,機構名稱,機構類別,縣市[,啟用].
    """
    result = parse_institutions_csv(csv_file.read_bytes())
    for error in result.errors:
        click.echo(f"第 {error.line} 行：{error.message}", err=True)
    summary = upsert_institutions(result.records)
    click.echo(
        f"新增 {summary.created}、更新 {summary.updated}、未變更 {summary.unchanged}；"
        f"略過有誤的 {len(result.errors)} 筆"
    )


@click.command("load-demo")
@with_appcontext
def load_demo() -> None:
    """Load the demo institutions and a demo manager (idempotent)."""
    from portal.demo import load_demo_data

    for line in load_demo_data():
        click.echo(line)


@click.command("calendar-override")
@with_appcontext
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("kind", type=click.Choice(["closed", "working"]))
@click.option("--reason", required=True, help="e.g. 颱風停止上班")
def calendar_override(day, kind: str, reason: str) -> None:
    """Declare one day closed (typhoon) or working, overriding the government calendar."""
    from portal.workcalendar.models import CalendarOverride, OverrideKind

    override = db.session.scalar(
        db.select(CalendarOverride).where(CalendarOverride.day == day.date())
    ) or CalendarOverride(day=day.date())
    override.kind = OverrideKind(kind)
    override.reason = reason
    db.session.add(override)
    db.session.commit()
    click.echo(f"{date.isoformat(day.date())}: {kind} ({reason})")


@click.command("create-staff")
@click.argument("username")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--national-id", required=True)
@click.option(
    "--role", required=True, type=click.Choice(["help_desk", "subsystem_admin", "portal_admin"])
)
@click.option("--subsystem", "subsystems", multiple=True, help="subsystem code; repeat for more")
@click.password_option(help="prompted (hidden) when not given")
@with_appcontext
def create_staff(username, name, email, national_id, role, subsystems, password) -> None:
    """Create a help-desk, subsystem-administrator or portal-administrator account."""
    from flask import current_app

    from portal.accounts.models import StaffRole
    from portal.admin.services import StaffDetails, StaffError
    from portal.admin.services import create_staff as create
    from portal.audit.services import Origin
    from portal.identity.identifiers import is_valid_national_id
    from portal.identity.password_policy import PasswordPolicy, assess_password

    if not is_valid_national_id(national_id):
        raise click.BadParameter("身分證字號或居留證號格式不正確", param_hint="--national-id")
    failure = assess_password(
        password,
        PasswordPolicy.from_config(current_app.config),
        username=username,
        national_id=national_id,
    ).first_failure
    if failure is not None:
        raise click.BadParameter(f"密碼不符規則：{failure.label}", param_hint="--password")
    details = StaffDetails(username, name, email, national_id, StaffRole(role), tuple(subsystems))
    try:
        account = create(details, password, Origin(remote_addr="cli"))
    except StaffError as error:
        raise click.ClickException(str(error.message)) from None
    click.echo(f"created {account.username} ({role}); second factor is set up at first sign-in")


@click.command("manager-digest")
@with_appcontext
def manager_digest() -> None:
    """E-mail each institution's active managers the general-user applications still waiting.

    For MANAGER_NOTICE=daily, run once a day; with "immediate" managers were told as each
    application came, so nothing is sent.
    """
    from flask import current_app

    from portal.manager.notifications import send_digest
    from portal.manager.services import pending_digests

    config = current_app.config
    if config["MANAGER_NOTICE"] != "daily":
        click.echo("MANAGER_NOTICE 為 immediate：管理者已在每件申請送出時收到通知，不寄摘要。")
        return
    if not config["EXTERNAL_BASE_URL"]:
        raise click.ClickException("set EXTERNAL_BASE_URL (e.g. https://portal.example.gov.tw)")
    sent = sum(send_digest(d.managers, d.applications) for d in pending_digests())
    click.echo(f"寄出 {sent} 封待審核摘要")
