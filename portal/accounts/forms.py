"""The forms on 我的帳號."""

from portal.fields import (
    PortalForm,
    department_field,
    email_field,
    landline_field,
    mobile_field,
)


class ContactForm(PortalForm):
    """E-mail, phones and department, validated as at registration."""

    email = email_field()
    phone = landline_field()
    mobile = mobile_field()
    department = department_field()
