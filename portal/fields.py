"""The portal's base form, and fields that several forms ask for in the same way.

Registration, 我的帳號, staff management and sign-in all ask for some of these; defining
each once keeps the rules and the Traditional Chinese messages identical everywhere.
"""

import re

from flask import request
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, StopValidation

from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.i18n import wtforms_translations
from portal.identity import identifiers

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
# What a paste can bring into a field (a vertical tab from a word processor, a line break):
# none belongs in a one-line value; a multi-line one keeps tabs and line breaks.
ONE_LINE_CONTROLS = re.compile(r"[\x00-\x1f]")
MULTI_LINE_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
UNCHECKED_FIELDS = (PasswordField, HiddenField)


def no_control_characters(form: FlaskForm, field: StringField) -> None:
    """WTForms validator, first on every text field of a PortalForm: no control characters."""
    controls = MULTI_LINE_CONTROLS if isinstance(field, TextAreaField) else ONE_LINE_CONTROLS
    if isinstance(field.data, str) and controls.search(field.data):
        raise StopValidation(_l("請刪除看不見的控制字元（例如貼上時帶進來的換行或定位字元）。"))


class PortalForm(FlaskForm):
    """Every form of the portal: its text fields hold posted text without control characters.

    Flask-WTF would also fill a field from a file or a JSON value sent under its name, and
    the validators, written for text, fail on those with a TypeError.
    """

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            """WTForms' own messages, read once per language (Flask-WTF reads them per request)."""
            return wtforms_translations()

        def wrap_formdata(self, form, formdata):
            """The posted form's text fields only, when the view gives no data of its own."""
            wrapped = super().wrap_formdata(form, formdata)
            if wrapped is None or wrapped is formdata:
                return wrapped
            return request.form or None

        def bind_field(self, form, unbound_field, options):
            """Text fields check for control characters before anything else reads them.

            Passwords are left alone: they are only ever hashed, and refusing one would lock
            out whoever chose it. So are hidden fields: nobody types them, a message next to
            one would not be seen, and what reads one checks it (`next` with safe_next).
            """
            field = super().bind_field(form, unbound_field, options)
            if isinstance(field, StringField) and not isinstance(field, UNCHECKED_FIELDS):
                field.validators = [no_control_characters, *field.validators]
            return field


def national_id_check(form: FlaskForm, field: StringField) -> None:
    """WTForms validator: see portal.identity.identifiers."""
    if field.data and not identifiers.is_valid_national_id(field.data):
        raise ValidationError(
            _l("身分證字號或居留證號格式不正確，請確認英文字母與數字（例：A123456789）。")
        )


# Why a phone number could not be read, in words (identifiers.PhoneNumberError.reason).
PHONE_MESSAGES = {
    "characters": _l(
        "電話號碼只能有數字、括號、連字號與分機（# 或「分機」），例：(02)2522-0878#123。"
    ),
    "no_area_code": _l("請寫上區碼，例：(02)2522-0878；國外的號碼無法使用。"),
    "unknown_area_code": _l("查無這個區碼，請確認，例：02、037、049。"),
    "mobile": _l("這是手機號碼，請填在手機欄；市話請寫區碼與號碼，例：02-2522-0878。"),
    "extension": _l("分機為 1 至 6 位數字，寫在 # 或「分機」之後，例：02-2522-0878#123。"),
    "not_mobile": _l("手機號碼以 09 開頭，例：0912-345678；市話請填在聯絡電話欄。"),
    "mobile_length": _l("手機號碼為 09 開頭的 10 位數字，例：0912-345678，請確認是否少打或多打。"),
}


def _landline_length_message(area_code: str) -> str:
    counts = identifiers.LANDLINE_AREA_CODES[area_code]
    word = _("或")  # 04 numbers have 7 or 8 digits
    digits = f" {word} ".join(str(count) for count in counts)
    return _(
        "區碼 %(area)s 之後應有 %(digits)s 位數字，請確認是否少打或多打。",
        area=area_code,
        digits=digits,
    )


def phone_filter(normalize):
    """A field filter: the number in its one stored form if it can be read, else as typed.

    The form then shows the stored form back whenever it re-renders the field, and the
    view gets what the database keeps; the field's check says why a number cannot be read.
    """

    def apply(value):
        if not isinstance(value, str) or not value.strip():
            return value
        try:
            return normalize(value)
        except identifiers.PhoneNumberError:
            return value

    return apply


def landline_check(form: FlaskForm, field: StringField) -> None:
    """WTForms validator: see portal.identity.identifiers.normalize_landline."""
    if field.data:
        try:
            identifiers.normalize_landline(field.data)
        except identifiers.PhoneNumberError as error:
            if error.reason == "length":
                raise ValidationError(_landline_length_message(error.area_code)) from None
            raise ValidationError(PHONE_MESSAGES[error.reason]) from None


def mobile_check(form: FlaskForm, field: StringField) -> None:
    """WTForms validator: see portal.identity.identifiers.normalize_mobile."""
    if field.data:
        try:
            identifiers.normalize_mobile(field.data)
        except identifiers.PhoneNumberError as error:
            reason = "mobile_length" if error.reason == "length" else error.reason
            raise ValidationError(PHONE_MESSAGES[reason]) from None


def new_username_field() -> StringField:
    """A new account name: 4-30 letters, digits, . _ - (unique regardless of case)."""
    return StringField(
        _l("帳號"),
        validators=[
            DataRequired(_l("請輸入帳號。")),
            Length(min=4, max=30, message=_l("帳號長度須為 4 至 30 個字元。")),
            Regexp(
                USERNAME_PATTERN,
                message=_l("帳號只能使用英文字母、數字及 . _ -，且須以英文字母或數字開頭。"),
            ),
        ],
    )


def existing_username_field() -> StringField:
    """The name of an account that exists (sign-in, forgotten password)."""
    return StringField(
        _l("帳號"),
        validators=[
            DataRequired(_l("請輸入帳號。")),
            Length(max=30, message=_l("帳號最多 30 個字元。")),
        ],
    )


def national_id_field() -> StringField:
    """身分證字號 or 居留證號 (old and 2021 formats), checksum included."""
    return StringField(
        _l("身分證字號／居留證號"),
        validators=[
            DataRequired(_l("請輸入身分證字號或居留證號。")),
            Length(max=10, message=_l("身分證字號或居留證號為 10 碼。")),
            national_id_check,
        ],
    )


def name_field() -> StringField:
    """A person's name."""
    return StringField(
        _l("姓名"),
        validators=[
            DataRequired(_l("請輸入姓名。")),
            Length(max=50, message=_l("姓名最多 50 個字。")),
        ],
    )


def landline_field() -> StringField:
    """聯絡電話, read as people write it and kept as 02-12345678 with an optional #extension."""
    return StringField(
        _l("聯絡電話（市話）"),
        filters=[phone_filter(identifiers.normalize_landline)],
        validators=[
            DataRequired(_l("請輸入聯絡電話。")),
            Length(max=30, message=_l("聯絡電話太長。")),
            landline_check,
        ],
    )


def mobile_field() -> StringField:
    """手機, optional, read as people write it and kept as 0912-345678."""
    return StringField(
        _l("手機（選填）"),
        filters=[phone_filter(identifiers.normalize_mobile)],
        validators=[Optional(), Length(max=20, message=_l("手機號碼太長。")), mobile_check],
    )


def department_field() -> StringField:
    """機構、部門, optional: the unit within the institution, printed on the paper form."""
    return StringField(
        _l("機構、部門"),
        # Trimmed before the length check, so spaces around it never count.
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[Optional(), Length(max=100, message=_l("機構、部門最多 100 個字。"))],
    )


def email_field(required_message=None) -> EmailField:
    """An e-mail address."""
    return EmailField(
        _l("電子郵件"),
        validators=[
            DataRequired(required_message or _l("請輸入電子郵件。")),
            Length(max=254, message=_l("電子郵件太長。")),
            Email(
                message=_l("電子郵件格式不正確，例：name@example.com。"),
                check_deliverability=False,
            ),
        ],
    )
