"""The forms on 我的帳號."""

from flask_wtf import FlaskForm

from portal.fields import department_field, email_field, landline_field, mobile_field


class ContactForm(FlaskForm):
    """E-mail, phones and department, validated as at registration."""

    email = email_field()
    phone = landline_field()
    mobile = mobile_field()
    department = department_field()
