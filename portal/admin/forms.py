"""Staff and audit forms for portal administrators."""

from datetime import date

from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    ValidationError,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp

from portal.accounts.labels import STAFF_ROLE_LABELS
from portal.audit.labels import ACTION_GROUP_LABELS, ACTION_LABELS, action_group
from portal.fields import (
    PortalForm,
    email_field,
    name_field,
    national_id_field,
    new_username_field,
)
from portal.i18n import lazy_gettext as _l
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


# What an audit search is made of, as its links carry it.
AUDIT_SEARCH_FIELDS = ("username", "institution_code", "action", "date_from", "date_to")
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
    action = SelectField(_l("事件種類"), validate_choice=False)
    date_from = DateField(_l("起日"), validators=[Optional(), audit_date_check], format="%Y-%m-%d")
    date_to = DateField(_l("迄日"), validators=[Optional(), audit_date_check], format="%Y-%m-%d")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.action.choices = _action_choices()

    def validate_action(self, field: SelectField) -> None:
        """One action, one kind of actions, or all of them."""
        if field.data and field.data not in ACTION_LABELS and field.data not in ACTION_GROUP_LABELS:
            raise ValidationError(_l("請從清單中選擇事件種類。"))

    def validate(self, extra_validators=None) -> bool:
        """The fields, then the range: a start after the end would silently find nothing."""
        valid = super().validate(extra_validators)
        start, end = self.date_from.data, self.date_to.data
        if valid and start and end and start > end:
            self.date_from.errors.append(_l("起日晚於迄日。"))
            self.date_to.errors.append(_l("迄日早於起日，日期範圍顛倒了，請對調兩個日期。"))
            return False
        return valid


def _action_choices() -> dict:
    """Every action by kind: each kind first as a whole, then its actions one by one."""
    grouped: dict = {None: [SelectChoice("", _l("全部事件"))]}
    for group, group_label in ACTION_GROUP_LABELS.items():
        actions = [
            SelectChoice(action, label)
            for action, label in ACTION_LABELS.items()
            if action_group(action) == group
        ]
        if len(actions) > 1:
            actions.insert(0, SelectChoice(group, _l("全部（%(kind)s）", kind=group_label)))
        grouped[group_label] = actions
    return grouped
