"""The audit trail in words: what each recorded action, subject and detail is called.

The one table behind the administrator's audit search, its detail page and its CSV export.
Every action the code records has a label here (tests/unit/test_audit_labels.py reads the
code to check); an action missing from the table is shown by its code.
"""

from dataclasses import dataclass

from portal.accounts.labels import ROLE_LABELS, STAFF_ROLE_LABELS
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l

ACTION_LABELS = {
    "application.submitted": _l("送出帳號申請"),
    "application.approved": _l("管理者核准帳號申請"),
    "application.refused": _l("管理者不核准帳號申請"),
    "verification.card_succeeded": _l("機構卡驗證成功"),
    "verification.card_failed": _l("機構卡驗證失敗"),
    "verification.paper_uploaded": _l("上傳用印紙本掃描檔"),
    "verification.paper_approved": _l("帳號申請紙本審核通過"),
    "verification.paper_refused": _l("帳號申請紙本審核未通過"),
    "manager_change.filed": _l("提出管理者異動"),
    "manager_change.withdrawn": _l("撤回管理者異動"),
    "manager_change.card_verified": _l("管理者異動經機構卡驗證生效"),
    "manager_change.approved": _l("管理者異動紙本審核通過"),
    "manager_change.refused": _l("管理者異動紙本審核未通過"),
    "national_id.revealed": _l("檢視完整身分證字號"),
    "account.contact_changed": _l("變更聯絡資料"),
    "account.deactivated": _l("帳號已停用"),
    "account.reactivated": _l("重新啟用帳號"),
    "subsystem_request.approved": _l("核准子系統使用"),
    "subsystem_request.refused": _l("不核准子系統使用"),
    "subsystem_request.revoked": _l("撤銷子系統使用權限"),
    "subsystem_request.asked": _l("申請使用子系統"),
    "subsystem_request.withdrawn": _l("撤回子系統使用申請"),
    "oidc_client.registered": _l("登記子系統用戶端"),
    "oidc_client.updated": _l("變更子系統用戶端設定"),
    "oidc_client.secret_rotated": _l("重新產生子系統用戶端密鑰"),
    "staff.created": _l("建立工作人員帳號"),
    "staff.role_changed": _l("變更工作人員角色"),
    "login.succeeded": _l("登入成功"),
    "login.failed": _l("登入失敗（密碼錯誤或查無帳號）"),
    "login.second_factor_failed": _l("登入失敗（驗證碼錯誤）"),
    "login.locked": _l("多次登入失敗，帳號暫時鎖定"),
    "login.refused_locked": _l("登入被拒（帳號鎖定中）"),
    "login.refused_state": _l("登入被拒（帳號未啟用或已停用）"),
    "logout": _l("已登出"),
    "totp.enrolled": _l("設定兩步驟驗證"),
    "password.reset_requested": _l("申請重設密碼"),
    "password.reset_unmatched": _l("申請重設密碼（帳號與電子郵件不符，未寄出）"),
    "password.reset": _l("以連結重設密碼"),
    "password.changed": _l("變更密碼"),
    "audit.exported": _l("匯出稽核紀錄"),
    "outbox.retried": _l("重新寄送無法寄出的電子郵件"),
    "institution.created": _l("新增醫事機構"),
    "institution.updated": _l("修改醫事機構資料"),
    "institution.deactivated": _l("停用醫事機構"),
    "institution.reactivated": _l("重新啟用醫事機構"),
    "institution.imported": _l("匯入醫事機構清單"),
    "subsystem.created": _l("新增子系統"),
    "subsystem.updated": _l("修改子系統"),
    "calendar.override_set": _l("設定工作日曆例外（停止上班或補行上班）"),
    "calendar.override_removed": _l("刪除工作日曆例外"),
    "content.created": _l("新增網站內容"),
    "content.updated": _l("修改網站內容"),
    "content.published": _l("上架網站內容"),
    "content.unpublished": _l("下架網站內容"),
    "content.deleted": _l("刪除網站內容"),
    "content.reordered": _l("調整網站內容順序"),
    "content.file_added": _l("上傳網站內容檔案"),
    "content.file_removed": _l("移除網站內容檔案"),
}

# The first part of an action's code, for searching a whole kind at once.
ACTION_GROUP_LABELS = {
    "application": _l("帳號申請"),
    "verification": _l("機構驗證"),
    "manager_change": _l("管理者異動"),
    "national_id": _l("身分證字號"),
    "account": _l("帳號管理"),
    "subsystem_request": _l("子系統使用"),
    "staff": _l("工作人員"),
    "login": _l("登入"),
    "logout": _l("登出"),
    "totp": _l("兩步驟驗證"),
    "password": _l("密碼"),
    "audit": _l("稽核紀錄"),
    "outbox": _l("電子郵件寄送"),
    "institution": _l("醫事機構"),
    "subsystem": _l("子系統"),
    "calendar": _l("工作日曆"),
    "content": _l("網站內容"),
    "oidc_client": _l("子系統用戶端"),
}

SUBJECT_TYPE_LABELS = {
    "account": _l("使用者帳號"),
    "application": _l("帳號申請"),
    "manager_change": _l("管理者異動"),
    "subsystem_request": _l("子系統使用申請"),
    "audit_trail": _l("稽核紀錄"),
    "outbox_message": _l("待寄電子郵件"),
    "institution": _l("醫事機構"),
    "institution_list": _l("醫事機構清單"),
    "subsystem": _l("子系統"),
    "calendar_day": _l("工作日曆的一天"),
    "announcement": _l("公告"),
    "download": _l("下載檔案"),
    "faq": _l("常見問答"),
    "guide": _l("指南頁面"),
    "contact": _l("諮詢窗口"),
    "oidc_client": _l("子系統用戶端"),
}

# The keys events keep in their detail; a key missing here is shown as it is stored.
DETAIL_KEY_LABELS = {
    "reason": _l("原因"),
    "username": _l("輸入的帳號"),
    "state": _l("帳號狀態"),
    "role": _l("角色"),
    "subsystems": _l("子系統"),
    "subsystem": _l("子系統"),
    "active": _l("帳號使用中"),
    "before": _l("變更前"),
    "after": _l("變更後"),
    "email_changed": _l("電子郵件已變更"),
    "account_id": _l("帳號編號"),
    "redirect_uris": _l("登入後返回網址"),
    "may_receive_national_id": _l("可取得身分證字號"),
    "accounts": _l("帳號編號"),
    "kind": _l("異動類別"),
    "certificate_serial": _l("憑證序號"),
    "subject": _l("憑證主體"),
    "revocation": _l("憑證廢止檢查"),
    "sha256": _l("檔案雜湊值（SHA-256）"),
    "size": _l("檔案大小（位元組）"),
    "type": _l("檔案類型"),
    "qr": _l("QR 碼比對"),
    "filters": _l("搜尋條件"),
    "account": _l("帳號"),
    "date_from": _l("起日"),
    "date_to": _l("迄日"),
    "institution_code": _l("機構代碼"),
    "action": _l("事件種類"),
    "recipient": _l("收件人"),
    "code": _l("代碼"),
    "name": _l("名稱"),
    "institution_kind": _l("機構類別"),
    "county": _l("縣市"),
    "description": _l("說明"),
    "sort_order": _l("排列順序"),
    "enabled": _l("啟用"),
    "file_name": _l("檔案名稱"),
    "created": _l("新增筆數"),
    "updated": _l("更新筆數"),
    "unchanged": _l("未變更筆數"),
    "skipped_rows": _l("略過的有誤列數"),
    "created_codes": _l("新增的機構代碼"),
    "updated_codes": _l("更新的機構代碼"),
    "day": _l("日期"),
    "override": _l("類別"),
    "moved": _l("期限因此改變的申請"),
    "title": _l("標題"),
    "version": _l("版本"),
    "file": _l("檔案"),
    "position": _l("新的位置"),
}

# Stored codes shown in words where the detail names one.
_VALUE_LABELS = {
    "role": {
        **{role.value: label for role, label in ROLE_LABELS.items()},
        **{role.value: label for role, label in STAFF_ROLE_LABELS.items()},
    },
    # A work-calendar override (portal.workcalendar.models.OverrideKind).
    "override": {
        "closed": _l("停止上班"),
        "working": _l("補行上班"),
    },
    # What the CRLs said of the card that verified (portal.verification.revocation).
    "revocation": {
        "good": _l("未被廢止（依現行的廢止清冊）"),
        "unknown": _l("未檢查（沒有現行的廢止清冊）"),
    },
}


def action_label(action: str) -> str:
    """The action in words, or its code if the table has none (an action since retired)."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def action_group(action: str) -> str:
    """The part of an action's code before the first dot: its kind."""
    return action.partition(".")[0]


def subject_type_label(subject_type: str) -> str:
    """What kind of thing an event is about, in words."""
    label = SUBJECT_TYPE_LABELS.get(subject_type)
    return str(label) if label is not None else subject_type


def subject_name(subject_id: str, account=None) -> str:
    """Which one the event is about: an account by name (chen01（陳小明）), else its number."""
    if account is not None:
        return _("%(username)s（%(name)s）", username=account.username, name=account.name)
    return subject_id if subject_id not in ("", "-") else "—"


@dataclass(frozen=True)
class DetailItem:
    """One line of an event's detail: a label and a value, or the lines nested under it."""

    label: str
    value: str = ""
    items: tuple["DetailItem", ...] = ()


def detail_items(detail: dict | None) -> tuple[DetailItem, ...]:
    """An event's detail as labelled lines, in the order it was recorded."""
    return tuple(_item(key, value) for key, value in (detail or {}).items())


def detail_text(detail: dict | None) -> str:
    """The detail on one line, for a spreadsheet cell: 原因：…；角色：…"""
    return _one_line(detail_items(detail))


def _item(key: str, value) -> DetailItem:
    label = DETAIL_KEY_LABELS.get(key)
    label = str(label) if label is not None else key
    if isinstance(value, dict):
        return DetailItem(label, items=detail_items(value))
    return DetailItem(label, _value(key, value))


def _value(key: str, value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list):
        return _("、").join(_value(key, part) for part in value)
    label = _VALUE_LABELS.get(key, {}).get(str(value))
    return str(label) if label is not None else str(value)


def _one_line(items: tuple[DetailItem, ...]) -> str:
    return _("；").join(_line(item) for item in items)


def _line(item: DetailItem) -> str:
    if item.items:
        return _("%(label)s：（%(items)s）", label=item.label, items=_one_line(item.items))
    return _("%(label)s：%(value)s", label=item.label, value=item.value)
