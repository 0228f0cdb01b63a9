"""Forms for portal administrators: staff, audit search, and the master data."""

from datetime import date

from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional, Regexp

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
from portal.institutions.importer import MAX_NAME_CHARS
from portal.institutions.records import COUNTIES, KINDS
from portal.registration.forms import MultiCheckboxField
from portal.workcalendar.models import OverrideKind
from portal.workcalendar.services import OVERRIDE_LABELS


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


# --- master data: institutions, subsystems, the work calendar -----------------------------


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


def _choices(values: tuple[str, ...], prompt) -> list[SelectChoice]:
    return [SelectChoice("", prompt), *(SelectChoice(value, value) for value in values)]


class NewInstitutionForm(PortalForm):
    """A new institution: its 10-digit code, name, kind and county."""

    code = StringField(
        _l("機構代碼"),
        filters=[_stripped],
        validators=[
            DataRequired(_l("請輸入機構代碼。")),
            Regexp(r"^[0-9]{10}$", message=_l("醫事機構代碼為 10 位數字。")),
        ],
    )
    name = StringField(
        _l("機構名稱"),
        filters=[_stripped],
        validators=[
            DataRequired(_l("請輸入機構名稱。")),
            Length(max=MAX_NAME_CHARS, message=_l("機構名稱最多 100 個字。")),
        ],
    )
    # AnyOf rather than WTForms' own choice check, whose words are Simplified Chinese.
    kind = SelectField(
        _l("機構類別"),
        choices=_choices(KINDS, _l("請選擇機構類別")),
        validate_choice=False,
        validators=[
            DataRequired(_l("請選擇機構類別。")),
            AnyOf(KINDS, message=_l("請從清單中選擇機構類別。")),
        ],
    )
    county = SelectField(
        _l("縣市"),
        choices=_choices(COUNTIES, _l("請選擇縣市")),
        validate_choice=False,
        validators=[
            DataRequired(_l("請選擇縣市。")),
            AnyOf(COUNTIES, message=_l("請從清單中選擇縣市。")),
        ],
    )


class InstitutionForm(NewInstitutionForm):
    """An institution's name, kind and county: its code is its identity, fixed once created."""

    code = None


class InstitutionSearchForm(PortalForm):
    """Search the institution list (GET, so a search can be bookmarked)."""

    class Meta:
        csrf = False

    q = StringField(_l("機構代碼或名稱"), filters=[_stripped], validators=[Length(max=50)])
    state = SelectField(
        _l("狀態"),
        choices=[
            SelectChoice("", _l("全部")),
            SelectChoice("active", _l("使用中")),
            SelectChoice("inactive", _l("已停用")),
        ],
        validate_choice=False,
    )


SUBSYSTEM_CODE_PATTERN = r"^[a-z][a-z0-9-]{1,39}$"


class SubsystemForm(PortalForm):
    """A subsystem: code (as relying parties and forms name it), name, description, order."""

    name = StringField(
        _l("名稱"),
        filters=[_stripped],
        validators=[
            DataRequired(_l("請輸入子系統名稱。")),
            Length(max=50, message=_l("名稱最多 50 個字。")),
        ],
    )
    code = StringField(
        _l("代碼"),
        filters=[_stripped],
        validators=[
            DataRequired(_l("請輸入代碼。")),
            Regexp(
                SUBSYSTEM_CODE_PATTERN,
                message=_l("代碼為 2 至 40 個小寫英文字母、數字或 -，以英文字母開頭。"),
            ),
        ],
    )
    description = TextAreaField(
        _l("說明"),
        filters=[_stripped],
        validators=[Length(max=500, message=_l("說明最多 500 個字。"))],
    )
    # Text, not IntegerField: WTForms' own message for a non-number is in Simplified Chinese.
    sort_order = StringField(
        _l("排列順序"),
        default="0",
        filters=[_stripped],
        validators=[
            InputRequired(_l("請輸入排列順序（0 至 999 的整數）。")),
            Regexp(r"^[0-9]{1,3}$", message=_l("排列順序為 0 至 999 的整數。")),
        ],
    )
    active = BooleanField(_l("啟用（帳號申請與我的子系統會列出）"), default=True)


def override_kind_check(form: PortalForm, field: RadioField) -> None:
    """WTForms validator: one of the two kinds offered."""
    if field.data not in {kind.value for kind in OverrideKind}:
        raise ValidationError(_l("請選擇停止上班或補行上班。"))


class OverrideForm(PortalForm):
    """One day declared closed (a typhoon) or working, with the reason."""

    day = DateField(
        _l("日期"),
        format="%Y-%m-%d",
        # InputRequired: a day that is no date ("2026-02-30") keeps DateField's own message.
        validators=[InputRequired(_l("請輸入日期（例：2026-09-01）。")), audit_date_check],
    )
    kind = RadioField(
        _l("類別"),
        choices=[
            SelectChoice(OverrideKind.CLOSED.value, OVERRIDE_LABELS[OverrideKind.CLOSED]),
            SelectChoice(OverrideKind.WORKING.value, OVERRIDE_LABELS[OverrideKind.WORKING]),
        ],
        # Checked below: WTForms' own words for a value not offered are Simplified Chinese.
        validate_choice=False,
        validators=[DataRequired(_l("請選擇停止上班或補行上班。")), override_kind_check],
    )
    reason = StringField(
        _l("原因"),
        filters=[_stripped],
        validators=[
            DataRequired(_l("請輸入原因（例：颱風停止上班）。")),
            Length(max=200, message=_l("原因最多 200 個字。")),
        ],
    )
