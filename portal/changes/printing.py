"""The filing as the agency's paper form: one page per person it changes."""

from portal.changes.models import ChangeAction, ManagerChange, ManagerChangeItem
from portal.localtime import local_date
from portal.printing import ManagerFormData, render_manager_forms
from portal.verification.form_pages import form_page

# How each action is ticked on the form: the kind, and for C which of a and b.
_TICKS = {
    ChangeAction.DEACTIVATE: ("B", None),
    ChangeAction.PROMOTE: ("C", "promote"),
    ChangeAction.DEMOTE: ("C", "demote"),
}


def change_form_pdf(change: ManagerChange) -> bytes:
    """The pre-filled form, a page per account, each with the filing's number and QR code."""
    return render_manager_forms([_page(change, item) for item in change.items])


def _page(change: ManagerChange, item: ManagerChangeItem) -> ManagerFormData:
    kind, tick = _TICKS[item.action]
    return form_page(
        item.account,
        change.institution,
        change.change_no,
        local_date(change.submitted_at),
        kind,
        tick,
    )
