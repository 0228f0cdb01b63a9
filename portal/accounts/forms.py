"""The forms on 我的帳號."""

from flask_wtf import FlaskForm

from portal.fields import email_field, landline_field, mobile_field


class ContactForm(FlaskForm):
    """E-mail and phones, validated as at registration."""

    email = email_field()
    phone = landline_field()
    mobile = mobile_field()
