"""Sign-in, second factor, forgotten and new password forms."""

from flask import current_app
from wtforms import HiddenField, PasswordField, StringField, ValidationError
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from portal.fields import PortalForm, email_field, existing_username_field
from portal.i18n import lazy_gettext as _l
from portal.identity.password_policy import PasswordAssessment, PasswordPolicy, assess_password


class LoginForm(PortalForm):
    """服務登入."""

    username = existing_username_field()
    password = PasswordField(
        _l("密碼"),
        validators=[DataRequired(_l("請輸入密碼。")), Length(max=128, message=_l("密碼太長。"))],
    )
    next = HiddenField()


class TotpForm(PortalForm):
    """The six digits from the authenticator app."""

    code = StringField(
        _l("驗證碼"),
        validators=[
            DataRequired(_l("請輸入驗證器 App 顯示的 6 位數驗證碼。")),
            Regexp(r"^\s*[0-9]{6}\s*$", message=_l("驗證碼為 6 位數字。")),
        ],
    )


class ForgotPasswordForm(PortalForm):
    """忘記密碼: account name and the e-mail on file."""

    username = existing_username_field()
    email = email_field(_l("請輸入申請帳號時填寫的電子郵件。"))


class NewPasswordForm(PortalForm):
    """A new password, checked by the same rules and meter as registration."""

    password = PasswordField(_l("新密碼"), validators=[DataRequired(_l("請輸入新密碼。"))])
    password_confirm = PasswordField(
        _l("確認新密碼"),
        validators=[
            DataRequired(_l("請再輸入一次新密碼。")),
            EqualTo("password", message=_l("兩次輸入的密碼不一致。")),
        ],
    )

    def __init__(self, *args, username: str = "", national_id: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._username = username
        self._national_id = national_id

    def password_assessment(self) -> PasswordAssessment:
        """The meter's verdict for the password typed, against this account's details."""
        return self._assess(self.password.data or "")

    def page_assessment(self) -> PasswordAssessment:
        """The meter as a page shows it: a password is never sent back, so neither is its
        verdict (a refused form's meter would praise a password the field no longer holds)."""
        return self._assess("")

    def _assess(self, password: str) -> PasswordAssessment:
        return assess_password(
            password,
            PasswordPolicy.from_config(current_app.config),
            username=self._username,
            national_id=self._national_id,
        )

    def validate_password(self, field: PasswordField) -> None:
        """The first rule the new password does not meet."""
        failure = self.password_assessment().first_failure
        if field.data and failure is not None:
            raise ValidationError(_l("密碼不符規則：%(rule)s。", rule=failure.label))


class ChangePasswordForm(NewPasswordForm):
    """Change password on /account: the current password first."""

    current_password = PasswordField(
        _l("目前的密碼"), validators=[DataRequired(_l("請輸入目前的密碼。"))]
    )
