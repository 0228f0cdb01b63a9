"""The public site's content: announcements, downloads, Q&A, guides, contact windows.

Each item is published by a portal administrator: shown from `publish_at` (none: a draft)
until `unpublish_at` (上網期限; none: no end). Every save keeps a copy in
`content_versions`, and files live outside the web root as `content_files`.
"""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import UTCDateTime, enum_type, utcnow
from portal.extensions import db


class ContentKind(enum.StrEnum):
    """The kinds of items the administrator keeps; also the audit trail's subject types."""

    ANNOUNCEMENT = "announcement"
    DOWNLOAD = "download"
    FAQ = "faq"
    GUIDE = "guide"
    CONTACT = "contact"


class AnnouncementCategory(enum.StrEnum):
    """公告的分類."""

    SYSTEM = "system"  # 系統公告
    SERVICE = "service"  # 業務公告
    MAINTENANCE = "maintenance"  # 系統維護
    EVENT = "event"  # 活動訊息
    REGULATION = "regulation"  # 法規公告


class DownloadCategory(enum.StrEnum):
    """下載檔案的分類."""

    FORM = "form"  # 表單
    MANUAL = "manual"  # 操作手冊
    SOFTWARE = "software"  # 軟體工具
    OTHER = "other"  # 其他


class FaqTopic(enum.StrEnum):
    """The topics the Q&A page is grouped by, in this order."""

    APPLYING = "applying"
    VERIFYING = "verifying"
    MANAGER = "manager"
    SUBSYSTEMS = "subsystems"
    SIGN_IN = "sign-in"
    OTHER = "other"


class GuideKind(enum.StrEnum):
    """新手上路 (the first steps, in order) or 新手指南 (the work after them)."""

    START = "start"
    HANDBOOK = "handbook"


class Publishable:
    """Columns every kind shares: when it shows, when it changed, and its version."""

    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unpublish_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the public sees as 更新日期: the last change to the text, not to the schedule.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The number of the latest entry in content_versions; an edit form carries it, so a
    # save over someone else's newer one is refused instead of silently undoing it.
    version: Mapped[int] = mapped_column(default=1)

    @classmethod
    def visible_at(cls, now: datetime):
        """The SQL condition: published at `now` and not yet taken down."""
        return and_(
            cls.publish_at.is_not(None),
            cls.publish_at <= now,
            or_(cls.unpublish_at.is_(None), cls.unpublish_at > now),
        )

    def is_visible(self, now: datetime) -> bool:
        """The same rule in Python, for an item already loaded."""
        return (
            self.publish_at is not None
            and self.publish_at <= now
            and (self.unpublish_at is None or self.unpublish_at > now)
        )


class Announcement(Publishable, db.Model):
    """公告事項: a dated notice, perhaps of one subsystem, with attachments."""

    __tablename__ = "announcements"
    # The public list's order (pinned first, newest first) read backwards from one index.
    __table_args__ = (
        Index("ix_announcements_listing", "pinned", "publish_at", "id"),
        Index("ix_announcements_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[AnnouncementCategory] = mapped_column(enum_type(AnnouncementCategory))
    subsystem_id: Mapped[int | None] = mapped_column(ForeignKey("subsystems.id"), index=True)
    body: Mapped[str] = mapped_column(Text, default="")
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)

    subsystem: Mapped["Subsystem | None"] = relationship(lazy="joined")  # noqa: F821
    attachments: Mapped[list["ContentFile"]] = relationship(
        order_by="ContentFile.id",
        foreign_keys="ContentFile.announcement_id",
        viewonly=True,
    )


class Download(Publishable, db.Model):
    """A file in 下載專區: uploaded, or built in (its bytes come from the portal itself)."""

    __tablename__ = "downloads"
    __table_args__ = (
        CheckConstraint("(file_id IS NULL) OR (builtin_key IS NULL)", name="uploaded_or_built_in"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    category: Mapped[DownloadCategory] = mapped_column(enum_type(DownloadCategory))
    subsystem_id: Mapped[int | None] = mapped_column(ForeignKey("subsystems.id"), index=True)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("content_files.id"), unique=True)
    # A key of portal.content.builtin.BUILT_IN: the blank form, the card helper's package.
    builtin_key: Mapped[str | None] = mapped_column(String(40), unique=True)

    subsystem: Mapped["Subsystem | None"] = relationship(lazy="joined")  # noqa: F821
    file: Mapped["ContentFile | None"] = relationship(
        foreign_keys=[file_id], lazy="joined", viewonly=True
    )


class FaqEntry(Publishable, db.Model):
    """常見問答: one question and its answer, under a topic, in the administrator's order."""

    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[FaqTopic] = mapped_column(enum_type(FaqTopic))
    question: Mapped[str] = mapped_column(String(300))
    answer: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)


class GuidePage(Publishable, db.Model):
    """One page of 新手上路 or 新手指南: numbered steps with pictures, in Markdown."""

    __tablename__ = "guide_pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[GuideKind] = mapped_column(enum_type(GuideKind))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)

    pictures: Mapped[list["ContentFile"]] = relationship(
        order_by="ContentFile.id", foreign_keys="ContentFile.guide_id", viewonly=True
    )


class ContactWindow(Publishable, db.Model):
    """諮詢窗口: who answers which questions, and how to reach them."""

    __tablename__ = "contact_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    topics: Mapped[str] = mapped_column(String(300), default="")
    people: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    hours: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(default=0)


class ContentFile(db.Model):
    """An uploaded file: an announcement's attachment, a guide's picture, or a download.

    Kept under CONTENT_UPLOAD_DIR by a random name; the name it was uploaded with is only
    shown and sent back as the download's name, never used as a path.
    """

    __tablename__ = "content_files"
    __table_args__ = (
        CheckConstraint("(announcement_id IS NULL) OR (guide_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    announcement_id: Mapped[int | None] = mapped_column(ForeignKey("announcements.id"), index=True)
    guide_id: Mapped[int | None] = mapped_column(ForeignKey("guide_pages.id"), index=True)


class ContentVersion(db.Model):
    """One saved state of an item, kept when it changes and after it is deleted."""

    __tablename__ = "content_versions"
    __table_args__ = (UniqueConstraint("kind", "item_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ContentKind] = mapped_column(enum_type(ContentKind))
    # No foreign key: the versions outlive a deleted item.
    item_id: Mapped[int] = mapped_column()
    number: Mapped[int] = mapped_column()
    action: Mapped[str] = mapped_column(String(30))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    saved_by: Mapped["Account | None"] = relationship(viewonly=True)  # noqa: F821


MODELS = {
    ContentKind.ANNOUNCEMENT: Announcement,
    ContentKind.DOWNLOAD: Download,
    ContentKind.FAQ: FaqEntry,
    ContentKind.GUIDE: GuidePage,
    ContentKind.CONTACT: ContactWindow,
}
