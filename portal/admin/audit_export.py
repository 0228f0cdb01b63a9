"""The audit search as a spreadsheet that Excel on a Taiwanese Windows PC opens as it is.

Excel reads a CSV file in the PC's code page (Big5 on Taiwanese Windows) unless the file
starts with a UTF-8 byte order mark, so the export starts with one.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date

from portal.audit.labels import action_label, detail_text, subject_name, subject_type_label
from portal.audit.services import AuditEntry
from portal.i18n import gettext as _
from portal.localtime import local_datetime_text

BYTE_ORDER_MARK = "\ufeff"
# Rows written before the text so far is handed on: one chunk per batch, not per row.
ROWS_PER_CHUNK = 200
# A cell that starts with one of these is a formula to a spreadsheet; an apostrophe in
# front keeps it text (a sign-in attempt's account name is whatever someone typed).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_filename(date_from: date | None, date_to: date | None, today: date) -> str:
    """audit-events_2026-01-01_2026-01-31.csv; without a start, audit-events_until_<end>.csv."""
    end = (date_to or today).isoformat()
    if date_from is None:
        return f"audit-events_until_{end}.csv"
    return f"audit-events_{date_from.isoformat()}_{end}.csv"


def csv_chunks(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """The byte order mark, the header row, then the events, in chunks of text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # Excel's dialect: commas, quotes as needed, CRLF
    writer.writerow(_header())
    yield BYTE_ORDER_MARK + _taken(buffer)
    for count, entry in enumerate(entries, start=1):
        writer.writerow([_as_text(cell) for cell in _row(entry)])
        if count % ROWS_PER_CHUNK == 0:
            yield _taken(buffer)
    yield _taken(buffer)


def _header() -> list[str]:
    return [
        _("時間（臺北時間）"),
        _("事件"),
        _("事件代碼"),
        _("執行者帳號"),
        _("執行者姓名"),
        _("對象類別"),
        _("對象"),
        _("機構代碼"),
        _("機構名稱"),
        _("來源 IP 位址"),
        _("瀏覽器"),
        _("詳細內容"),
    ]


def _row(entry: AuditEntry) -> list[str]:
    event, actor, institution = entry.event, entry.event.actor, entry.event.institution
    return [
        local_datetime_text(event.occurred_at),
        action_label(event.action),
        event.action,
        actor.username if actor else "",
        actor.name if actor else "",
        subject_type_label(event.subject_type),
        subject_name(event.subject_id, entry.subject_account),
        institution.code if institution else "",
        institution.name if institution else "",
        event.remote_addr or "",
        event.user_agent or "",
        detail_text(event.detail),
    ]


def _as_text(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def _taken(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
