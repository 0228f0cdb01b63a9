"""Words for roles, shown in menus and pages."""

from portal.accounts.models import Role, StaffRole
from portal.i18n import lazy_gettext as _l

ROLE_LABELS = {Role.MANAGER: _l("單位業務管理者"), Role.GENERAL: _l("一般使用者")}
STAFF_ROLE_LABELS = {
    StaffRole.HELP_DESK: _l("系統服務窗口（審核人員）"),
    StaffRole.SUBSYSTEM_ADMIN: _l("子系統管理者"),
    StaffRole.PORTAL_ADMIN: _l("入口網管理者"),
}
