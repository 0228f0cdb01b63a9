"""One page of the printed 管理者帳號申請、異動表 for one person, from what the portal stores."""

from datetime import date

from portal.accounts.models import Account
from portal.identity.identifiers import mask_national_id
from portal.institutions.models import Institution
from portal.printing import ManagerChange as PermissionChange
from portal.printing import ManagerFormData, ManagerFormKind, split_phone
from portal.security.national_ids import decrypt_national_id


def form_page(
    account: Account,
    institution: Institution,
    number: str,
    applied_on: date,
    kind: ManagerFormKind,
    change: PermissionChange | None = None,
) -> ManagerFormData:
    """The person's page of the form: their account, masked ID, department and contacts."""
    area, phone_number, extension = split_phone(account.phone)
    return ManagerFormData(
        application_no=number,
        applied_on=applied_on,
        kind=kind,
        change=change,
        institution_name=institution.name,
        institution_code=institution.code,
        username=account.username,
        applicant_name=account.name,
        national_id_display=mask_national_id(decrypt_national_id(account.national_id_encrypted)),
        department=account.department or "",
        phone_area=area,
        phone_number=phone_number,
        phone_extension=extension,
        email=account.email,
    )
