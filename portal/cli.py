"""Command-line tasks: `flask import-institutions`, `flask load-demo`, `flask calendar-override`,
`flask create-staff`, `flask manager-digest`, `flask refresh-card-crls`, `flask worker`,
and the OpenID Connect provider's `flask register-client`, `flask rotate-client-secret`,
`flask rotate-oidc-key`; the ID-number keys' `flask rotate-id-encryption-key` and
`flask rotate-id-hash-key`."""

import signal
import threading
from datetime import date
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from portal.audit.services import Origin
from portal.extensions import db
from portal.institutions.administration import import_institutions_csv


def register_commands(app: Flask) -> None:
    """Attach the portal's commands to `flask`."""
    app.cli.add_command(import_institutions)
    app.cli.add_command(load_demo)
    app.cli.add_command(calendar_override)
    app.cli.add_command(create_staff)
    app.cli.add_command(manager_digest)
    app.cli.add_command(refresh_card_crls)
    app.cli.add_command(worker)
    from portal.oidc.commands import register_client, rotate_client_secret, rotate_oidc_key

    app.cli.add_command(register_client)
    app.cli.add_command(rotate_client_secret)
    app.cli.add_command(rotate_oidc_key)
    from portal.security.commands import rotate_id_encryption_key, rotate_id_hash_key

    app.cli.add_command(rotate_id_encryption_key)
    app.cli.add_command(rotate_id_hash_key)


@click.command("import-institutions")
@with_appcontext
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_institutions(csv_file: Path) -> None:
    """Load institutions from a CSV file (UTF-8 or Big5); bad rows are reported, good ones kept.

    Columns: code,name,kind,county[,active] or 機構代碼,機構名稱,機構類別,縣市[,啟用].
    """
    report = import_institutions_csv(
        csv_file.read_bytes(), csv_file.name, Origin(remote_addr="cli")
    )
    for error in report.errors:
        click.echo(f"第 {error.line} 行：{error.message}", err=True)
    summary = report.summary
    click.echo(
        f"新增 {summary.created}、更新 {summary.updated}、未變更 {summary.unchanged}；"
        f"略過有誤的 {len(report.errors)} 筆"
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
    from flask import current_app

    from portal.due_dates import moved_due_dates
    from portal.workcalendar.models import OverrideKind
    from portal.workcalendar.services import calendar_with, current_calendar, save_override

    day, kind = day.date(), OverrideKind(kind)
    moved = moved_due_dates(
        current_calendar(),
        calendar_with(day, kind),
        day,
        current_app.config["REVIEW_WORKING_DAYS"],
    )
    save_override(day, kind, reason, Origin(remote_addr="cli"), None, [m.number for m in moved])
    click.echo(f"{date.isoformat(day)}: {kind.value} ({reason})")
    for item in moved:
        click.echo(f"  {item.number}: {item.due_before:%Y-%m-%d} -> {item.due_after:%Y-%m-%d}")


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

    from portal.manager.services import send_pending_digests

    config = current_app.config
    if config["MANAGER_NOTICE"] != "daily":
        click.echo("MANAGER_NOTICE 為 immediate：管理者已在每件申請送出時收到通知，不寄摘要。")
        return
    if not config["EXTERNAL_BASE_URL"]:
        raise click.ClickException("set EXTERNAL_BASE_URL (e.g. https://portal.example.gov.tw)")
    queued = send_pending_digests()
    db.session.commit()
    click.echo(f"已排入 {queued} 封待審核摘要，由 worker 寄出")


@click.command("refresh-card-crls")
@click.argument("urls", nargs=-1)
@with_appcontext
def refresh_card_crls(urls: tuple[str, ...]) -> None:
    """Download the card CAs' revocation lists (CARD_CRL_URLS, or the URLs given) into
    CARD_CRL_DIR; exits with 1 when any is missing, refused or out of date.

    Run it from a timer (hourly): card verification refuses cards that no current CRL
    covers. A CRL is installed only if a trust anchor signed it and it is not older than the
    one there; otherwise the one there stays.
    """
    from flask import current_app

    from portal.db_types import utcnow
    from portal.verification.crl_refresh import refresh_crls
    from portal.verification.services import configured_card_kinds

    config = current_app.config
    urls = urls or tuple(config["CARD_CRL_URLS"].replace(",", " ").split())
    if not urls:
        raise click.ClickException("set CARD_CRL_URLS (the CAs' CRL addresses) or give URLs")
    results = refresh_crls(
        urls,
        Path(config["CARD_CRL_DIR"]),
        # Every accepted kind's anchors: HCA's and GCA's lists go to the same directory.
        [anchor for kind in configured_card_kinds() for anchor in kind.trust_anchors],
        timeout=config["CARD_CRL_FETCH_TIMEOUT"],
        now=utcnow(),
    )
    for result in results:
        state = "已更新" if result.installed else "未更新"
        click.echo(f"{state} {result.url} -> {result.path.name}（{_crl_summary(result.crl)}）")
        if result.problem:
            click.echo(f"  {result.problem}", err=True)
    if any(result.problem for result in results):
        raise SystemExit(1)


def _crl_summary(crl) -> str:
    """When the CRL in place was issued, until when it holds, and how many it lists."""
    if crl is None:
        return "目錄中沒有這份廢止清冊"
    until = f"{crl.next_update_utc:%Y-%m-%d %H:%M}Z" if crl.next_update_utc else "—"
    issued = f"{crl.last_update_utc:%Y-%m-%d %H:%M}Z"
    return f"thisUpdate {issued}, nextUpdate {until}, 廢止 {len(crl)} 張"


@click.command("worker")
@click.option(
    "--once", is_flag=True, help="Run the daily jobs due and send the mail due, then exit."
)
@with_appcontext
def worker(once: bool) -> None:
    """Send the outbox's e-mail as it comes due, retrying failures, and run the daily jobs
    (digests, purge) at their times, until stopped.

    SIGTERM or SIGINT (Ctrl-C) lets the message being sent finish, then exits.
    """
    from flask import current_app

    from portal.worker import new_scheduler, run, run_once, run_scheduled

    app = current_app._get_current_object()
    if once:
        for run_report in run_scheduled(app, new_scheduler()):
            click.echo(
                f"{run_report.job} {run_report.period}: {run_report.outcome} {run_report.detail}"
            )
        report = run_once(app)
        click.echo(f"寄出 {report.sent} 封，{report.retrying} 封稍後重試，{report.dead} 封無法寄出")
        return
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())
    click.echo(f"worker: delivering mail every {app.config['WORKER_POLL_SECONDS']} s")
    run(app, stop)
