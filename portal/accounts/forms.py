"""The forms on 我的帳號."""

from wtforms import PasswordField
from wtforms.validators import Length

from portal.fields import (
    PortalForm,
    department_field,
    email_field,
    landline_field,
    mobile_field,
)
from portal.i18n import lazy_gettext as _l


class ContactForm(PortalForm):
    """E-mail, phones and department, validated as at registration."""

    email = email_field()
    phone = landline_field()
    mobile = mobile_field()
    department = department_field()
    # Needed only for a new e-mail (the service decides). Its own id: the password form on
    # the same page has a current_password field too.
    current_password = PasswordField(
        _l("目前的密碼"),
        id="contact_current_password",
        validators=[Length(max=128, message=_l("密碼太長。"))],
    )
