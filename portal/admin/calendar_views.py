"""工作日曆: a portal administrator declares closures (typhoon days) and extra workdays,
seeing first which open applications' and changes' due dates they move."""

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.admin.forms import OverrideForm
from portal.admin.views import portal_admin_required
from portal.due_dates import MovedDueDate, moved_due_dates
from portal.i18n import gettext as _
from portal.i18n import ngettext
from portal.rendering import page_or_fragment, request_origin
from portal.workcalendar import services as calendar
from portal.workcalendar.models import OverrideKind

bp = Blueprint(
    "admin_calendar", __name__, template_folder="templates", url_prefix="/admin/calendar"
)


@bp.get("")
@portal_admin_required
def index():
    """The overrides, and the form to add one."""
    return _render(OverrideForm())


@bp.post("")
@portal_admin_required
def save():
    """預覽 shows the due dates a new override moves; 儲存 stores it (audited)."""
    form = OverrideForm()
    if request.form.get("action") == "preview":
        day_and_kind = _day_and_kind(form)
        return _render(form, day_and_kind, status=200 if day_and_kind else 422)
    if not form.validate_on_submit():
        return _render(form, status=422)
    day, kind = form.day.data, OverrideKind(form.kind.data)
    moved = _moved(day, kind)
    saved = calendar.save_override(
        day, kind, form.reason.data, request_origin(), current_user.id, [m.number for m in moved]
    )
    label = calendar.OVERRIDE_LABELS[kind]
    flash(
        " ".join(
            (
                _("已將 %(day)s 改為%(kind)s。", day=day.isoformat(), kind=label)
                if saved.replaced
                else _("已將 %(day)s 設為%(kind)s。", day=day.isoformat(), kind=label),
                _moved_sentence(len(moved)),
            )
        )
    )
    return redirect(url_for("admin_calendar.index"), 303)


@bp.get("/impact")
@portal_admin_required
def impact():
    """The due dates the chosen day and kind would move (the form's live preview)."""
    form = OverrideForm(request.args, meta={"csrf": False})
    return page_or_fragment(
        "admin/calendar.html", "admin/_calendar_impact.html", **_context(form, _day_and_kind(form))
    )


@bp.post("/<int:override_id>/delete")
@portal_admin_required
def delete(override_id: int):
    """Give the day back to the government calendar (audited, with the due dates moved)."""
    override = calendar.override_by_id(override_id)
    moved = _moved(override.day, None)
    calendar.remove_override(
        override.id, request_origin(), current_user.id, [m.number for m in moved]
    )
    flash(
        " ".join(
            (
                _(
                    "已刪除 %(day)s 的例外，這一天回到政府行政機關辦公日曆。",
                    day=override.day.isoformat(),
                ),
                _moved_sentence(len(moved)),
            )
        )
    )
    return redirect(url_for("admin_calendar.index"), 303)


def _day_and_kind(form: OverrideForm) -> tuple[date, OverrideKind] | None:
    """The day and kind, if both are given and valid (the reason is needed only to save)."""
    valid = [form.day.validate(form), form.kind.validate(form)]
    return (form.day.data, OverrideKind(form.kind.data)) if all(valid) else None


def _moved(day: date, kind: OverrideKind | None) -> list[MovedDueDate]:
    return moved_due_dates(
        calendar.current_calendar(),
        calendar.calendar_with(day, kind),
        day,
        current_app.config["REVIEW_WORKING_DAYS"],
    )


def _moved_sentence(count: int) -> str:
    if not count:
        return _("沒有待辦申請的期限因此改變。")
    return ngettext(
        "%(num)d 件待辦申請的期限因此改變。", "%(num)d 件待辦申請的期限因此改變。", count
    )


def _context(form: OverrideForm, day_and_kind: tuple[date, OverrideKind] | None) -> dict:
    """The page's (and the preview's) context; the preview only once a day and kind are chosen."""
    moved = no_change = None
    if day_and_kind:
        day, kind = day_and_kind
        moved = _moved(day, kind)
        # The day already is what the override would make it: nothing can move.
        no_change = calendar.current_calendar().is_working_day(day) == (
            kind is OverrideKind.WORKING
        )
    return {
        "form": form,
        "moved": moved,
        "no_change": no_change,
        "overrides": calendar.all_overrides(),
        "labels": calendar.OVERRIDE_LABELS,
    }


def _render(form: OverrideForm, day_and_kind=None, status: int = 200):
    return render_template("admin/calendar.html", **_context(form, day_and_kind)), status
