"""Staff and audit forms for portal administrators."""

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, RadioField, SelectChoice, StringField, ValidationError
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


# The dates an audit search may name: the trail began after the first, and both ends stay
# days that UTC, where events are compared, can hold with a day to spare.
FIRST_AUDIT_DATE = date(2000, 1, 1)
LAST_AUDIT_DATE = date(2099, 12, 31)


def audit_date_check(form: PortalForm, field: DateField) -> None:
    """WTForms validator: a day within the dates an audit search may name."""
    if field.data and not FIRST_AUDIT_DATE <= field.data <= LAST_AUDIT_DATE:
        raise ValidationError(
            _l(
                "請輸入 %(first)s 至 %(last)s 之間的日期。",
                first=FIRST_AUDIT_DATE.isoformat(),
                last=LAST_AUDIT_DATE.isoformat(),
            )
        )


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
    date_from = DateField(_l("起日"), validators=[Optional(), audit_date_check], format="%Y-%m-%d")
    date_to = DateField(_l("迄日"), validators=[Optional(), audit_date_check], format="%Y-%m-%d")

    def validate_date_to(self, field: DateField) -> None:
        """A range that ends before it begins is said to, next to its end."""
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("迄日早於起日，請對調或修改日期。"))

    def search_arguments(self) -> dict[str, str]:
        """The search as typed, for the pager's links: this form's fields and nothing else."""
        return {f.name: f.raw_data[0] for f in self if f.raw_data and f.raw_data[0]}
