"""What a manager change is called on screens, in e-mails and on the printed form."""

from portal.changes.models import ChangeAction, ChangeKind, ChangeState
from portal.i18n import lazy_gettext as _l

KIND_LABELS = {
    ChangeKind.DEACTIVATE: _l("B. 停用管理者帳號"),
    ChangeKind.PROMOTE: _l("C.a 升為管理者"),
    ChangeKind.DEMOTE: _l("C.b 降為一般使用者"),
    ChangeKind.HANDOVER: _l("交接（停用或降級一位管理者，同時升一位為管理者）"),
}
ACTION_LABELS = {
    ChangeAction.DEACTIVATE: _l("停用管理者帳號"),
    ChangeAction.PROMOTE: _l("升為管理者"),
    ChangeAction.DEMOTE: _l("降為一般使用者"),
}
STATE_LABELS = {
    ChangeState.AWAITING_VERIFICATION: _l("待機構驗證（機構卡或紙本）"),
    ChangeState.AWAITING_PAPER_REVIEW: _l("紙本審核中"),
    ChangeState.APPROVED: _l("已核准，異動已生效"),
    ChangeState.REFUSED: _l("紙本審核未通過"),
    ChangeState.WITHDRAWN: _l("已撤回"),
}
