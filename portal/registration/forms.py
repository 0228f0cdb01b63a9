"""The application form and the progress look-up form."""

from flask import current_app
from wtforms import (
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    ValidationError,
)
from wtforms.validators import DataRequired, EqualTo, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from portal.accounts.models import Role
from portal.fields import (
    PortalForm,
    department_field,
    email_field,
    landline_field,
    mobile_field,
    name_field,
    national_id_field,
    new_username_field,
)
from portal.i18n import lazy_gettext as _l
from portal.identity.password_policy import PasswordPolicy, assess_password


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes sharing one name."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RegistrationForm(PortalForm):
    """帳號申請: the fields and names of DESIGN.md."""

    institution_code = StringField(
        _l("醫事機構代碼"),
        validators=[
            DataRequired(_l("請輸入醫事機構代碼，或以名稱搜尋後選擇。")),
            Regexp(r"^\s*[0-9]{10}\s*$", message=_l("醫事機構代碼為 10 位數字。")),
        ],
    )
    role = RadioField(
        _l("申請角色"),
        choices=[
            SelectChoice(Role.MANAGER.value, _l("單位業務管理者")),
            SelectChoice(Role.GENERAL.value, _l("一般使用者")),
        ],
        validators=[DataRequired(_l("請選擇申請角色。"))],
    )
    username = new_username_field()
    password = PasswordField(_l("密碼"), validators=[DataRequired(_l("請輸入密碼。"))])
    password_confirm = PasswordField(
        _l("確認密碼"),
        validators=[
            DataRequired(_l("請再輸入一次密碼。")),
            EqualTo("password", message=_l("兩次輸入的密碼不一致。")),
        ],
    )
    national_id = national_id_field()
    name = name_field()
    department = department_field()
    phone = landline_field()
    mobile = mobile_field()
    email = email_field()
    subsystems = MultiCheckboxField(_l("申請的子系統"), choices=[], validate_choice=False)
    submission_token = HiddenField()

    def validate_password(self, field: PasswordField) -> None:
        """Apply the same rule set as the meter; report the first rule not met."""
        failure = self.password_assessment().first_failure
        if field.data and failure is not None:
            raise ValidationError(_l("密碼不符規則：%(rule)s。", rule=failure.label))

    def validate_subsystems(self, field: MultiCheckboxField) -> None:
        """Only codes of offered subsystems."""
        offered = {choice.value for choice in field.choices}
        if any(code not in offered for code in field.data or []):
            raise ValidationError(_l("勾選的子系統不存在或已停用，請重新勾選。"))

    def password_assessment(self):
        """The meter's verdict for what is in the form now."""
        return applicant_password_assessment(
            self.password.data, self.username.data, self.national_id.data, self.name.data
        )


def applicant_password_assessment(
    password: str | None, username: str | None, national_id: str | None, name: str | None
):
    """The registration rules applied to a password and the applicant's own details."""
    return assess_password(
        password or "",
        PasswordPolicy.from_config(current_app.config),
        username=(username or "").strip(),
        national_id=(national_id or "").strip(),
        personal_words=((name or "").strip(),),
    )


class StatusLookupForm(PortalForm):
    """申請進度查詢: application number and ID number."""

    application_no = StringField(
        _l("申請編號"),
        validators=[
            DataRequired(_l("請輸入申請編號。")),
            Regexp(
                r"^\s*[Mm]?[0-9]{14}\s*$",
                message=_l("申請編號為 14 位數字；管理者異動的編號為 M 加 14 位數字。"),
            ),
        ],
    )
    national_id = national_id_field()
