"""The portal administrator's form for a subsystem's relying party."""

from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from portal.fields import PortalForm
from portal.i18n import lazy_gettext as _l


def lines(text: str | None) -> tuple[str, ...]:
    """One address per line, blank lines and surrounding spaces dropped."""
    return tuple(line.strip() for line in (text or "").splitlines() if line.strip())


class ClientForm(PortalForm):
    """Client id, name, subsystem, addresses, and whether it may receive ID numbers."""

    client_id = StringField(
        _l("用戶端代碼（client_id）"),
        validators=[
            DataRequired(_l("請填寫用戶端代碼。")),
            Regexp(
                r"^[a-z0-9][a-z0-9._-]{2,63}$",
                message=_l("用戶端代碼限 3–64 個小寫英文字母、數字與 . _ -，且以字母或數字開頭。"),
            ),
        ],
    )
    name = StringField(_l("名稱"), validators=[DataRequired(_l("請填寫名稱。")), Length(max=100)])
    subsystem_code = SelectField(_l("子系統"), choices=[])
    redirect_uris = TextAreaField(
        _l("登入後返回網址（redirect_uri，每行一個，須完全相符）"),
        validators=[DataRequired(_l("請至少填寫一個登入後返回網址。")), Length(max=4000)],
    )
    post_logout_redirect_uris = TextAreaField(
        _l("登出後返回網址（每行一個）"), validators=[Optional(), Length(max=4000)]
    )
    backchannel_logout_uri = StringField(
        _l("背景登出通知網址（back-channel logout）"), validators=[Optional(), Length(max=500)]
    )
    initiate_login_uri = StringField(
        _l("從入口網開啟的網址（initiate_login_uri）"), validators=[Optional(), Length(max=500)]
    )
    may_receive_national_id = BooleanField(_l("可取得身分證字號（national_id）"))
