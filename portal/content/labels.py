"""Words for the site's kinds, categories, topics and states, shown in pages and filters."""

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from portal.content.models import (
    AnnouncementCategory,
    ContentKind,
    DownloadCategory,
    FaqTopic,
    GuideKind,
)
from portal.i18n import current_translations

KIND_LABELS = {
    ContentKind.ANNOUNCEMENT: _l("公告事項"),
    ContentKind.DOWNLOAD: _l("下載專區"),
    ContentKind.FAQ: _l("常見問答"),
    ContentKind.GUIDE: _l("新手上路與新手指南"),
    ContentKind.CONTACT: _l("諮詢窗口"),
}
# One item of each kind, as a page heading says it ("新增公告").
ITEM_LABELS = {
    ContentKind.ANNOUNCEMENT: _l("公告"),
    ContentKind.DOWNLOAD: _l("下載檔案"),
    ContentKind.FAQ: _l("問答"),
    ContentKind.GUIDE: _l("指南頁面"),
    ContentKind.CONTACT: _l("諮詢窗口"),
}
ANNOUNCEMENT_CATEGORY_LABELS = {
    AnnouncementCategory.SYSTEM: _l("系統公告"),
    AnnouncementCategory.SERVICE: _l("業務公告"),
    AnnouncementCategory.MAINTENANCE: _l("系統維護"),
    AnnouncementCategory.EVENT: _l("活動訊息"),
    AnnouncementCategory.REGULATION: _l("法規公告"),
}
DOWNLOAD_CATEGORY_LABELS = {
    DownloadCategory.FORM: _l("表單"),
    DownloadCategory.MANUAL: _l("操作手冊"),
    DownloadCategory.SOFTWARE: _l("軟體工具"),
    DownloadCategory.OTHER: _l("其他"),
}
FAQ_TOPIC_LABELS = {
    FaqTopic.APPLYING: _l("帳號申請"),
    FaqTopic.VERIFYING: _l("機構卡驗證與紙本審核"),
    FaqTopic.MANAGER: _l("單位業務管理者"),
    FaqTopic.SUBSYSTEMS: _l("子系統使用"),
    FaqTopic.SIGN_IN: _l("登入與密碼"),
    FaqTopic.OTHER: _l("其他"),
}
GUIDE_KIND_LABELS = {GuideKind.START: _l("新手上路"), GuideKind.HANDBOOK: _l("新手指南")}
# Where an item stands for the administrator (services.publication_state).
STATE_LABELS = {
    "draft": _l("草稿"),
    "scheduled": _l("排程中"),
    "published": _l("上架中"),
    "expired": _l("已下架"),
}


def translated(table: dict) -> dict:
    """A table's labels translated once, for a page that shows them on every row.

    Through the request's catalogue (portal.i18n): each lazy string's own str() looks the
    catalogue up again, which on the busiest pages cost more than the rows themselves.
    """
    catalogue = current_translations()
    return {key: _text(catalogue, label) for key, label in table.items()}


def _text(catalogue, label) -> str:
    if isinstance(label, LazyString) and len(label._args) == 1 and not label._kwargs:
        return catalogue.ugettext(label._args[0])
    return str(label)


# Where no subsystem is named: the portal itself, for everyone.
ALL_SYSTEMS = _l("單一入口（共通）")
# What each saved version was (editing.py's actions, without "content.").
VERSION_ACTION_LABELS = {
    "created": _l("新增"),
    "updated": _l("修改"),
    "published": _l("上架"),
    "unpublished": _l("下架"),
    "deleted": _l("刪除"),
    "file_added": _l("上傳檔案"),
    "file_removed": _l("移除檔案"),
}
# The fields a version keeps, in words.
SNAPSHOT_LABELS = {
    "title": _l("標題"),
    "category": _l("分類"),
    "subsystem_id": _l("系統（編號）"),
    "body": _l("內容"),
    "pinned": _l("置頂"),
    "description": _l("說明"),
    "topic": _l("主題"),
    "question": _l("問題"),
    "answer": _l("回答"),
    "kind": _l("類別"),
    "summary": _l("摘要"),
    "name": _l("窗口名稱"),
    "topics": _l("服務項目"),
    "people": _l("聯絡人"),
    "phone": _l("電話"),
    "email": _l("電子郵件"),
    "hours": _l("服務時間"),
    "publish_at": _l("發佈時間"),
    "unpublish_at": _l("上網期限"),
    "files": _l("檔案"),
}
