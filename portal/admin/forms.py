"""Staff and audit forms for portal administrators."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from portal.accounts.labels import STAFF_ROLE_LABELS
from portal.fields import (
    PortalForm,
    email_field,
    name_field,
    national_id_field,
    new_username_field,
)
from portal.registration.forms import MultiCheckboxField


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(role.value, label) for role, label in STAFF_ROLE_LABELS.items()]


class StaffRoleForm(PortalForm):
    """Role, subsystems and whether the account is active."""

    role = RadioField(_l("角色"), validators=[DataRequired(_l("請選擇角色。"))])
    subsystems = MultiCheckboxField(_l("管理的子系統"), choices=[], validate_choice=False)
    active = BooleanField(_l("帳號使用中"), default=True)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = _role_choices()


class NewStaffForm(StaffRoleForm):
    """A new staff account; the person sets a password through an e-mailed link."""

    username = new_username_field()
    name = name_field()
    email = email_field()
    national_id = national_id_field()


class AuditSearchForm(PortalForm):
    """Search the audit trail (GET, so results can be bookmarked)."""

    class Meta:
        csrf = False

    username = StringField(_l("帳號"), validators=[Optional(), Length(max=30)])
    institution_code = StringField(
        _l("機構代碼"),
        validators=[Optional(), Regexp(r"^[0-9]{10}$", message=_l("醫事機構代碼為 10 位數字。"))],
    )
    action = StringField(_l("事件種類"), validators=[Optional(), Length(max=50)])
    date_from = DateField(_l("起日"), validators=[Optional()], format="%Y-%m-%d")
    date_to = DateField(_l("迄日"), validators=[Optional()], format="%Y-%m-%d")
