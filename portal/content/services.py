"""What the public pages show: only items published at `now`, in their order, filtered.

Every function takes `now` (the views pass the current time), so a test can ask what a
visitor would see at any moment; items outside their publish window are simply not there.
"""

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Row, Select, bindparam, select, tuple_, union_all

from portal.content import downloads
from portal.content.files import type_label
from portal.content.models import (
    Announcement,
    AnnouncementCategory,
    ContactWindow,
    ContentFile,
    Download,
    DownloadCategory,
    FaqEntry,
    FaqTopic,
    GuideKind,
    GuidePage,
)
from portal.errors import NotInScope
from portal.extensions import db
from portal.subsystems.models import Subsystem

E = TypeVar("E", bound=enum.Enum)
PAGE_SIZE = 20
HOME_LATEST = 5
HOME_PINNED = 5
FEED_SIZE = 20
KEYWORD_MAX = 100
# The 系統 filter's value for items of the portal itself, which name no subsystem.
PORTAL_SYSTEM = "portal"


def member_of(enum_class: type[E], value: str) -> E | None:
    """The member with this value, or None for a value that names none."""
    return enum_class._value2member_map_.get(value)


@dataclass(frozen=True)
class Filter:
    """What a visitor narrowed a list to; empty fields match everything."""

    category: str = ""
    system: str = ""
    keyword: str = ""

    @property
    def is_empty(self) -> bool:
        """Whether nothing narrows the list."""
        return not (self.category or self.system or self.keyword)


@dataclass(frozen=True)
class ListPosition:
    """Where a page of announcements ended, in their order (pinned, 發佈日期, id, all newest
    first): "更多公告" asks for the rows after it, read on from the listing index."""

    pinned: bool
    publish_at: datetime
    id: int

    def token(self) -> str:
        """The position as the next page's link carries it."""
        return f"{int(self.pinned)}_{self.publish_at.isoformat()}_{self.id}"

    @classmethod
    def from_token(cls, token: str) -> "ListPosition | None":
        """The position a link carried; None for anything that is not one."""
        pinned, _, rest = token.partition("_")
        moment, _, number = rest.rpartition("_")
        if pinned not in ("0", "1") or not number.isascii() or not number.isdigit():
            return None
        try:
            parsed = datetime.fromisoformat(moment)
            parsed = parsed.astimezone(UTC) if parsed.tzinfo else None
        except (ValueError, OverflowError):
            return None
        if parsed is None or len(number) > 10:
            return None
        return cls(pinned == "1", parsed, int(number))


# What a line of the list shows: read as plain rows, not as objects with loaded relations,
# the list being the site's busiest page.
LISTED = (
    Announcement.id,
    Announcement.title,
    Announcement.category,
    Announcement.subsystem_id,
    Announcement.pinned,
    Announcement.publish_at,
)
NOW = bindparam("now")


def announcements(
    chosen: Filter, now: datetime, after: ListPosition | None = None
) -> tuple[list[Row], ListPosition | None]:
    """One page of published announcements, pinned first, then newest; and where it ends
    if more follow. Each row has the LISTED columns."""
    statement = _filtered(_VISIBLE_LISTED, chosen)
    if after is not None:
        statement = statement.where(
            tuple_(Announcement.pinned, Announcement.publish_at, Announcement.id)
            < tuple_(after.pinned, after.publish_at, after.id)
        )
    statement = _in_list_order(statement).limit(PAGE_SIZE + 1)
    rows = list(db.session.execute(statement, {"now": now}))
    following = None
    if len(rows) > PAGE_SIZE:
        last = rows[PAGE_SIZE - 1]
        following = ListPosition(last.pinned, last.publish_at, last.id)
    return rows[:PAGE_SIZE], following


def _in_list_order(statement: Select) -> Select:
    return statement.order_by(
        Announcement.pinned.desc(), Announcement.publish_at.desc(), Announcement.id.desc()
    )


def _filtered(statement: Select, chosen: Filter) -> Select:
    category = member_of(AnnouncementCategory, chosen.category)
    if category is not None:
        statement = statement.where(Announcement.category == category)
    statement = _of_system(statement, Announcement.subsystem_id, chosen.system)
    if chosen.keyword:
        statement = statement.where(
            Announcement.title.icontains(chosen.keyword, autoescape=True)
            | Announcement.body.icontains(chosen.keyword, autoescape=True)
        )
    return statement


def _of_system(statement: Select, column, system: str) -> Select:
    if system == PORTAL_SYSTEM:
        return statement.where(column.is_(None))
    if system:
        subsystem = select(Subsystem.id).where(Subsystem.code == system).scalar_subquery()
        return statement.where(column == subsystem)
    return statement


@dataclass(frozen=True)
class HomeAnnouncements:
    """What the home page shows of the announcements, and the date the page gives."""

    pinned: list[Row]
    latest: list[Row]
    last_updated: datetime | None


def home_announcements(now: datetime) -> HomeAnnouncements:
    """For the home page: the pinned announcements, the latest of the others, and when a
    published announcement last changed; one statement, the busiest page's only one."""
    rows = db.session.execute(_HOME, {"now": now}).all()
    return HomeAnnouncements(
        pinned=[row for row in rows if row.pinned],
        latest=[row for row in rows if not row.pinned],
        last_updated=rows[0].last_updated if rows else None,
    )


def feed_announcements(now: datetime) -> list[Announcement]:
    """The newest published announcements, pinned or not, for the Atom feed."""
    statement = (
        select(Announcement)
        .where(Announcement.visible_at(now))
        .order_by(Announcement.publish_at.desc(), Announcement.id.desc())
        .limit(FEED_SIZE)
    )
    return list(db.session.scalars(statement))


def announcement(announcement_id: int, now: datetime) -> Announcement:
    """A published announcement; NotInScope for a draft, a scheduled or a taken-down one."""
    return _visible(Announcement, announcement_id, now)


def _visible(model, item_id: int, now: datetime):
    item = db.session.get(model, item_id)
    if item is None or not item.is_visible(now):
        raise NotInScope()
    return item


def last_updated(model, now: datetime) -> datetime | None:
    """When the newest change to a published item of this kind was made (the page's date)."""
    return db.session.scalar(_LAST_UPDATED[model], {"now": now})


def attachment(announcement_id: int, file_id: int, now: datetime) -> ContentFile:
    """A file attached to a published announcement."""
    item = announcement(announcement_id, now)
    return _owned(file_id, ContentFile.announcement_id == item.id)


def guide_picture(guide_id: int, file_id: int, now: datetime) -> ContentFile:
    """A picture of a published guide page."""
    page = guide_page(guide_id, now)
    return _owned(file_id, ContentFile.guide_id == page.id)


def _owned(file_id: int, owner) -> ContentFile:
    stored = db.session.scalar(select(ContentFile).where(ContentFile.id == file_id, owner))
    if stored is None:
        raise NotInScope()
    return stored


@dataclass(frozen=True)
class DownloadItem:
    """A line of 下載專區: the download, and its file's facts (None: not available yet)."""

    download: Download
    facts: downloads.FileFacts | None
    type_label: str


def download_items(chosen: Filter, now: datetime) -> list[DownloadItem]:
    """Published downloads by category, then newest first, with their files' facts."""
    statement = select(Download).where(Download.visible_at(now))
    category = member_of(DownloadCategory, chosen.category)
    if category is not None:
        statement = statement.where(Download.category == category)
    statement = _of_system(statement, Download.subsystem_id, chosen.system)
    if chosen.keyword:
        statement = statement.where(
            Download.title.icontains(chosen.keyword, autoescape=True)
            | Download.description.icontains(chosen.keyword, autoescape=True)
        )
    statement = statement.order_by(Download.publish_at.desc(), Download.id.desc())
    return [_download_item(row) for row in db.session.scalars(statement)]


def _download_item(row: Download) -> DownloadItem:
    if row.builtin_key:
        built_in = downloads.BUILT_IN.get(row.builtin_key)
        facts = downloads.built_in_facts(row.builtin_key)
        return DownloadItem(row, facts, type_label(built_in.mimetype) if built_in else "")
    if row.file is None:
        return DownloadItem(row, None, "")
    facts = downloads.FileFacts(row.file.size, row.file.sha256)
    return DownloadItem(row, facts, type_label(row.file.content_type))


def download(download_id: int, now: datetime) -> Download:
    """A published download."""
    return _visible(Download, download_id, now)


def faq_groups(keyword: str, now: datetime) -> list[tuple[FaqTopic, list[FaqEntry]]]:
    """Published questions by topic, in the administrator's order; only those matching
    the keyword (in the question or the answer) when one is given."""
    statement = select(FaqEntry).where(FaqEntry.visible_at(now))
    if keyword:
        statement = statement.where(
            FaqEntry.question.icontains(keyword, autoescape=True)
            | FaqEntry.answer.icontains(keyword, autoescape=True)
        )
    entries = list(db.session.scalars(statement.order_by(FaqEntry.position, FaqEntry.id)))
    return [
        (topic, [entry for entry in entries if entry.topic is topic])
        for topic in FaqTopic
        if any(entry.topic is topic for entry in entries)
    ]


def guide_pages(now: datetime) -> dict[GuideKind, list[GuidePage]]:
    """Published guide pages of each kind, in the administrator's order."""
    statement = (
        select(GuidePage)
        .where(GuidePage.visible_at(now))
        .order_by(GuidePage.position, GuidePage.id)
    )
    pages = list(db.session.scalars(statement))
    return {kind: [page for page in pages if page.kind is kind] for kind in GuideKind}


def guide_page(guide_id: int, now: datetime) -> GuidePage:
    """A published guide page."""
    return _visible(GuidePage, guide_id, now)


def contact_windows(now: datetime) -> list[ContactWindow]:
    """Published contact windows, in the administrator's order."""
    statement = (
        select(ContactWindow)
        .where(ContactWindow.visible_at(now))
        .order_by(ContactWindow.position, ContactWindow.id)
    )
    return list(db.session.scalars(statement))


@dataclass(frozen=True)
class Systems:
    """The subsystems, read once for a page: those a list can be narrowed to (active, in
    display order), and every one's name by id for the lists' 系統 column."""

    offered: list[Row]
    names: dict[int, str]


def systems() -> Systems:
    """The subsystems for the lists' filter and their 系統 column (one query)."""
    rows = list(db.session.execute(_SYSTEMS))
    return Systems([row for row in rows if row.active], {row.id: row.name for row in rows})


# Built once: the busiest pages' statements, their time a bound parameter.
_VISIBLE_LISTED = select(*LISTED).where(Announcement.visible_at(NOW))
_HOME_PINNED = _in_list_order(_VISIBLE_LISTED.where(Announcement.pinned)).limit(HOME_PINNED)
_HOME_LATEST = _in_list_order(_VISIBLE_LISTED.where(Announcement.pinned.is_(False))).limit(
    HOME_LATEST
)
_LAST_UPDATED = {
    model: select(model.updated_at)
    .where(model.visible_at(NOW))
    .order_by(model.updated_at.desc())
    .limit(1)
    for model in (Announcement, Download, FaqEntry, GuidePage, ContactWindow)
}
_HOME_SHOWN = union_all(select(_HOME_PINNED.subquery()), select(_HOME_LATEST.subquery())).subquery()
_HOME = select(
    _HOME_SHOWN, _LAST_UPDATED[Announcement].scalar_subquery().label("last_updated")
).order_by(_HOME_SHOWN.c.pinned.desc(), _HOME_SHOWN.c.publish_at.desc(), _HOME_SHOWN.c.id.desc())
_SYSTEMS = select(Subsystem.id, Subsystem.code, Subsystem.name, Subsystem.active).order_by(
    Subsystem.sort_order, Subsystem.id
)
