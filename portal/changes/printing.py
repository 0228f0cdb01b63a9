"""The filing as the agency's paper form: one page per person it changes."""

from portal.changes.models import ChangeAction, ManagerChange, ManagerChangeItem
from portal.identity.identifiers import mask_national_id
from portal.localtime import local_date
from portal.printing import ManagerFormData, render_manager_forms, split_phone
from portal.security.national_ids import decrypt_national_id

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
    account = item.account
    kind, tick = _TICKS[item.action]
    area, number, extension = split_phone(account.phone)
    return ManagerFormData(
        application_no=change.change_no,
        applied_on=local_date(change.submitted_at),
        kind=kind,
        change=tick,
        institution_name=change.institution.name,
        institution_code=change.institution.code,
        username=account.username,
        applicant_name=account.name,
        national_id_display=mask_national_id(decrypt_national_id(account.national_id_encrypted)),
        department=account.department or "",
        phone_area=area,
        phone_number=number,
        phone_extension=extension,
        email=account.email,
    )
