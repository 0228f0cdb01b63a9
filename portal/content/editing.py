"""Keeping the public site: a portal administrator creates, edits, schedules, takes down,
deletes and reorders items, and attaches files.

Every change is one transaction with its audit event, and every state an item is saved in
is kept in content_versions (a deleted item's last one too). An edit names the version it
started from: a save over a newer version someone else made is refused, not merged.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from portal.accounts.models import Account
from portal.audit.services import Origin, record_event
from portal.content import files
from portal.content.models import (
    MODELS,
    Announcement,
    ContentFile,
    ContentKind,
    ContentVersion,
    Download,
    FaqEntry,
    GuidePage,
)
from portal.errors import DomainError, NotInScope
from portal.extensions import db
from portal.locking import for_update

# What the administrator edits of each kind; the rest (dates, version) the service keeps.
FIELDS = {
    ContentKind.ANNOUNCEMENT: ("title", "category", "subsystem_id", "body", "pinned"),
    ContentKind.DOWNLOAD: ("title", "description", "category", "subsystem_id"),
    ContentKind.FAQ: ("topic", "question", "answer"),
    ContentKind.GUIDE: ("kind", "title", "summary", "body"),
    ContentKind.CONTACT: ("name", "topics", "people", "phone", "email", "hours"),
}
# Kinds shown in the administrator's order, and what groups them (moves stay in a group).
ORDERED = {ContentKind.FAQ: "topic", ContentKind.GUIDE: "kind", ContentKind.CONTACT: None}
# Kinds whose items carry files of their own.
WITH_FILES = (ContentKind.ANNOUNCEMENT, ContentKind.GUIDE, ContentKind.DOWNLOAD)
# What the audit trail calls each kind's items.
SUBJECT_TYPES = {
    ContentKind.ANNOUNCEMENT: "announcement",
    ContentKind.DOWNLOAD: "download",
    ContentKind.FAQ: "faq",
    ContentKind.GUIDE: "guide",
    ContentKind.CONTACT: "contact",
}
ADMIN_PAGE_SIZE = 50
LAST_ADMIN_PAGE = 10_000


class EditConflict(DomainError):
    """Someone saved the item after this form was opened; nothing was changed."""

    status = 409
    message = _l("這筆資料在您開啟後已由其他人修改，未儲存您的變更。請重新開啟，再修改一次。")


class BuiltInKept(DomainError):
    """A built-in download has no file to replace and cannot be deleted, only taken down."""

    status = 409
    message = _l("這是系統內建的下載檔案，不能刪除或更換檔案；不需要時請下架。")


@dataclass(frozen=True)
class Schedule:
    """When an item shows: from `publish_at` (None: a draft) until `unpublish_at`."""

    publish_at: datetime | None = None
    unpublish_at: datetime | None = None


def item_of(kind: ContentKind, item_id: int):
    """An item of any state, for the administrator; NotInScope if there is none."""
    item = db.session.get(MODELS[kind], item_id)
    if item is None:
        raise NotInScope()
    return item


def admin_items(kind: ContentKind, keyword: str, page: int) -> tuple[list, bool]:
    """One page of every item of the kind, newest first (ordered kinds in their order)."""
    model = MODELS[kind]
    statement = select(model)
    text_column = model.question if kind is ContentKind.FAQ else getattr(model, "title", None)
    if keyword and text_column is not None:
        statement = statement.where(text_column.icontains(keyword, autoescape=True))
    elif keyword:
        statement = statement.where(model.name.icontains(keyword, autoescape=True))
    if kind in ORDERED:
        group = ORDERED[kind]
        order = [getattr(model, group)] if group else []
        statement = statement.order_by(*order, model.position, model.id)
    else:
        statement = statement.order_by(model.id.desc())
    statement = statement.offset((page - 1) * ADMIN_PAGE_SIZE).limit(ADMIN_PAGE_SIZE + 1)
    rows = list(db.session.scalars(statement))
    return rows[:ADMIN_PAGE_SIZE], len(rows) > ADMIN_PAGE_SIZE


def publication_state(item, now: datetime) -> str:
    """draft, scheduled, published or expired: a key of labels.STATE_LABELS."""
    if item.publish_at is None:
        return "draft"
    if item.unpublish_at is not None and item.unpublish_at <= now:
        return "expired"
    return "scheduled" if item.publish_at > now else "published"


def create_item(
    kind: ContentKind,
    values: dict[str, Any],
    schedule: Schedule,
    actor: Account,
    origin: Origin,
    now: datetime,
):
    """A new item of the kind; its first version and the audit event."""
    model = MODELS[kind]
    item = model(**_editable(kind, values), created_at=now, updated_at=now, version=1)
    item.publish_at, item.unpublish_at = schedule.publish_at, schedule.unpublish_at
    if kind in ORDERED:
        item.position = _next_position(kind, item)
    db.session.add(item)
    db.session.flush()
    _saved(kind, item, "content.created", actor, origin, now)
    db.session.commit()
    return item


def update_item(
    kind: ContentKind,
    item_id: int,
    values: dict[str, Any],
    schedule: Schedule,
    expected_version: int,
    actor: Account,
    origin: Origin,
    now: datetime,
):
    """Save an edit made from `expected_version`; EditConflict if a newer one exists."""
    item = _locked(kind, item_id, expected_version)
    edited = _editable(kind, values)
    if any(getattr(item, name) != value for name, value in edited.items()):
        item.updated_at = now
    for name, value in edited.items():
        setattr(item, name, value)
    item.publish_at, item.unpublish_at = schedule.publish_at, schedule.unpublish_at
    item.version += 1
    _saved(kind, item, "content.updated", actor, origin, now)
    db.session.commit()
    return item


def publish_now(kind: ContentKind, item_id: int, actor: Account, origin: Origin, now: datetime):
    """Show the item from now on, with no end (a scheduled one comes out at once)."""
    item = _locked(kind, item_id)
    if item.publish_at is None or item.publish_at > now:
        item.publish_at = now
    item.unpublish_at = None
    item.version += 1
    _saved(kind, item, "content.published", actor, origin, now)
    db.session.commit()
    return item


def unpublish(kind: ContentKind, item_id: int, actor: Account, origin: Origin, now: datetime):
    """Take the item down now; it stays, with its versions, to be published again."""
    item = _locked(kind, item_id)
    item.unpublish_at = now
    if item.publish_at is not None and item.publish_at > now:
        item.publish_at = None  # a scheduled item taken down goes back to being a draft
    item.version += 1
    _saved(kind, item, "content.unpublished", actor, origin, now)
    db.session.commit()
    return item


def delete_item(kind: ContentKind, item_id: int, actor: Account, origin: Origin, now: datetime):
    """Delete the item and its files; its versions stay, the last one saying it was deleted."""
    item = _locked(kind, item_id)
    if isinstance(item, Download) and item.builtin_key:
        raise BuiltInKept()
    item.version += 1
    _saved(kind, item, "content.deleted", actor, origin, now)
    owned = files_of(item)
    stored_names = [stored.stored_name for stored in owned]
    if isinstance(item, Download):
        item.file_id = None
        db.session.flush()
    for stored in owned:
        db.session.delete(stored)
    db.session.flush()  # the files' rows first: they name the item
    db.session.delete(item)
    db.session.commit()
    files.remove_files(stored_names)


def move(
    kind: ContentKind, item_id: int, step: int, actor: Account, origin: Origin, now: datetime
) -> None:
    """Move an item one place up (-1) or down (+1) among those of its group."""
    item = _locked(kind, item_id)
    group = _group(kind, item)
    index = next(i for i, other in enumerate(group) if other.id == item.id)
    target = index + step
    if not 0 <= target < len(group):
        return
    group[index], group[target] = group[target], group[index]
    for position, other in enumerate(group):
        other.position = position
    record_event(
        "content.reordered",
        subject_type=SUBJECT_TYPES[kind],
        subject_id=item.id,
        origin=origin,
        actor_account_id=actor.id,
        detail={"title": title_of(item), "position": target + 1},
    )
    db.session.commit()


def attach_file(
    kind: ContentKind,
    item_id: int,
    upload: files.Upload,
    actor: Account,
    origin: Origin,
    now: datetime,
) -> ContentFile:
    """Keep a checked upload with the item: an attachment, a picture, or a download's file
    (which replaces the one it had)."""
    if kind not in WITH_FILES:
        raise NotInScope()
    item = _locked(kind, item_id)
    if isinstance(item, Download) and item.builtin_key:
        raise BuiltInKept()
    stored = files.new_file(upload)
    replaced = None
    if isinstance(item, Announcement):
        stored.announcement_id = item.id
    elif isinstance(item, GuidePage):
        stored.guide_id = item.id
    db.session.add(stored)
    db.session.flush()
    if isinstance(item, Download):
        replaced = item.file
        item.file_id = stored.id
        db.session.flush()
        if replaced is not None:
            db.session.delete(replaced)
        db.session.expire(item, ["file"])
    item.updated_at = now
    item.version += 1
    _saved(kind, item, "content.file_added", actor, origin, now, {"file": stored.original_name})
    path = files.write_file(stored, upload.data)
    try:
        db.session.commit()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if replaced is not None:
        files.remove_files([replaced.stored_name])
    return stored


def remove_file(
    kind: ContentKind, item_id: int, file_id: int, actor: Account, origin: Origin, now: datetime
) -> None:
    """Remove one attachment or picture from the item."""
    item = _locked(kind, item_id)
    stored = next((f for f in files_of(item) if f.id == file_id), None)
    if stored is None or isinstance(item, Download):
        raise NotInScope()
    db.session.delete(stored)
    db.session.flush()
    item.updated_at = now
    item.version += 1
    _saved(kind, item, "content.file_removed", actor, origin, now, {"file": stored.original_name})
    db.session.commit()
    files.remove_files([stored.stored_name])


def item_file(kind: ContentKind, item_id: int, file_id: int) -> ContentFile:
    """A file of the item, whatever its state (the administrator's preview)."""
    item = item_of(kind, item_id)
    stored = next((f for f in files_of(item) if f.id == file_id), None)
    if stored is None:
        raise NotInScope()
    return stored


def exists(kind: ContentKind, item_id: int) -> bool:
    """Whether the item is still there (its history outlives it)."""
    return db.session.get(MODELS[kind], item_id) is not None


def versions(kind: ContentKind, item_id: int) -> list[ContentVersion]:
    """Every saved state of the item, newest first (also of a deleted one)."""
    statement = (
        select(ContentVersion)
        .where(ContentVersion.kind == kind, ContentVersion.item_id == item_id)
        .order_by(ContentVersion.number.desc())
    )
    found = list(db.session.scalars(statement))
    if not found:
        raise NotInScope()
    return found


def _locked(kind: ContentKind, item_id: int, expected_version: int | None = None):
    model = MODELS[kind]
    # Without the joined loads: PostgreSQL refuses FOR UPDATE on an outer join's nullable side.
    statement = select(model).where(model.id == item_id).options(lazyload("*"))
    item = db.session.scalar(for_update(statement))
    if item is None:
        raise NotInScope()
    if expected_version is not None and item.version != expected_version:
        db.session.rollback()
        raise EditConflict()
    return item


def _editable(kind: ContentKind, values: dict[str, Any]) -> dict[str, Any]:
    return {name: values[name] for name in FIELDS[kind] if name in values}


def files_of(item) -> list[ContentFile]:
    """The item's own files: a download's one, an announcement's or a guide's several."""
    if isinstance(item, Download):
        return [item.file] if item.file is not None else []
    owner = ContentFile.announcement_id if isinstance(item, Announcement) else ContentFile.guide_id
    if not isinstance(item, Announcement | GuidePage):
        return []
    return list(db.session.scalars(select(ContentFile).where(owner == item.id)))


def _group(kind: ContentKind, item) -> list:
    model = MODELS[kind]
    statement = select(model)
    column = ORDERED[kind]
    if column:
        statement = statement.where(getattr(model, column) == getattr(item, column))
    return list(db.session.scalars(statement.order_by(model.position, model.id)))


def _next_position(kind: ContentKind, item) -> int:
    model = MODELS[kind]
    statement = select(func.max(model.position))
    column = ORDERED[kind]
    if column:
        statement = statement.where(getattr(model, column) == getattr(item, column))
    highest = db.session.scalar(statement)
    return 0 if highest is None else highest + 1


def title_of(item) -> str:
    """What the item is called in messages and the audit trail."""
    if isinstance(item, FaqEntry):
        return item.question
    return getattr(item, "title", None) or getattr(item, "name", "")


def snapshot(kind: ContentKind, item) -> dict[str, Any]:
    """What a version keeps: the edited fields, the schedule and the files' names and hashes."""
    kept: dict[str, Any] = {}
    for name in FIELDS[kind]:
        value = getattr(item, name)
        kept[name] = value.value if hasattr(value, "value") else value
    for name in ("publish_at", "unpublish_at"):
        moment = getattr(item, name)
        kept[name] = moment.isoformat() if moment else None
    if kind in WITH_FILES:
        kept["files"] = [
            {"name": f.original_name, "sha256": f.sha256, "size": f.size} for f in files_of(item)
        ]
    return kept


def _saved(
    kind: ContentKind,
    item,
    action: str,
    actor: Account,
    origin: Origin,
    now: datetime,
    extra: dict | None = None,
) -> None:
    """Keep the item's state as its new version, and record the change in the audit trail."""
    db.session.add(
        ContentVersion(
            kind=kind,
            item_id=item.id,
            number=item.version,
            action=action.removeprefix("content."),
            saved_at=now,
            saved_by_id=actor.id,
            snapshot=snapshot(kind, item),
        )
    )
    record_event(
        action,
        subject_type=SUBJECT_TYPES[kind],
        subject_id=item.id,
        origin=origin,
        actor_account_id=actor.id,
        detail={"title": title_of(item), "version": item.version, **(extra or {})},
    )
