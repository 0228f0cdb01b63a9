"""The unit manager's forms."""

from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from portal.fields import PortalForm
from portal.i18n import lazy_gettext as _l

# As long as the audit trail and the e-mail keep it whole.
REASON_MAX = 200


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class DeactivateForm(PortalForm):
    """停用: the reason, which the person reads in their e-mail."""

    reason = TextAreaField(
        _l("停用原因"),
        filters=[_strip],
        validators=[
            DataRequired(_l("請填寫停用原因，對方會在通知信中看到。")),
            Length(max=REASON_MAX, message=_l("停用原因最多 200 個字。")),
        ],
    )
