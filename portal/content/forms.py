"""The administrator's forms for each kind of item, and the public lists' filters."""

from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FileField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from portal.content import labels
from portal.content.models import (
    AnnouncementCategory,
    ContentKind,
    DownloadCategory,
    FaqTopic,
    GuideKind,
)
from portal.fields import PortalForm
from portal.localtime import TAIPEI
from portal.subsystems.models import Subsystem

BODY_MAX = 20_000
# The years a schedule may name: both ends stay far from what UTC can hold.
FIRST_YEAR, LAST_YEAR = 2000, 2099
# The 系統 choice of items that are the portal's own, for everyone.
PORTAL_CHOICE = ""


class TaipeiDateTimeField(DateTimeLocalField):
    """A date and time typed in Taipei time (the browser's picker), kept as UTC."""

    def __init__(self, label, **kwargs) -> None:
        super().__init__(label, format="%Y-%m-%dT%H:%M", **kwargs)

    def process_formdata(self, valuelist) -> None:
        """Read the value; a message in words for anything that is no date and time."""
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(_("請輸入正確的日期與時間，例如 2026-12-01 09:00。")) from error

    def pre_validate(self, form) -> None:
        """A year the portal can keep."""
        if self.data and not FIRST_YEAR <= self.data.year <= LAST_YEAR:
            raise ValidationError(
                _l("請輸入 %(first)d 至 %(last)d 年之間的時間。", first=FIRST_YEAR, last=LAST_YEAR)
            )

    def utc(self) -> datetime | None:
        """The time given, as an aware UTC value."""
        return self.data.replace(tzinfo=TAIPEI).astimezone(UTC) if self.data else None

    def show(self, moment: datetime | None) -> None:
        """Put a stored time in the field, as Taipei time."""
        self.data = moment.astimezone(TAIPEI).replace(tzinfo=None) if moment else None


def _choices(table: dict) -> list[SelectChoice]:
    return [SelectChoice(member.value, label) for member, label in table.items()]


def _required(message) -> list:
    return [DataRequired(message)]


class ItemForm(PortalForm):
    """What every kind's form has: when the item shows, and the version it was opened at."""

    publish_at = TaipeiDateTimeField(_l("發佈時間"), validators=[Optional()])
    unpublish_at = TaipeiDateTimeField(_l("上網期限"), validators=[Optional()])
    version = HiddenField()
    # Each kind names the fields its values() returns (editing.FIELDS).
    kind: ContentKind

    def validate(self, extra_validators=None) -> bool:
        """The fields, then the schedule: an end before the start would never show the item."""
        valid = super().validate(extra_validators)
        start, end = self.publish_at.data, self.unpublish_at.data
        if valid and start and end and end <= start:
            self.unpublish_at.errors.append(_l("上網期限要晚於發佈時間。"))
            return False
        return valid

    def values(self, systems: dict[str, int]) -> dict[str, Any]:
        """The edited fields as the model keeps them."""
        raise NotImplementedError

    def fill(self, item) -> None:
        """Show a stored item in the form."""
        for name in self.text_fields():
            self[name].data = getattr(item, name)
        self.publish_at.show(item.publish_at)
        self.unpublish_at.show(item.unpublish_at)
        self.version.data = str(item.version)

    def text_fields(self) -> tuple[str, ...]:
        """The fields copied as they are between the form and the model."""
        return ()

    def opened_version(self) -> int:
        """The version the form was opened at (0 if it says none: never current)."""
        text = self.version.data or ""
        return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else 0


class _SystemChoice:
    """A 系統 field: the portal itself, or one subsystem."""

    def set_systems(self, subsystems: list[Subsystem]) -> None:
        """The subsystems offered."""
        self.system.choices = [SelectChoice(PORTAL_CHOICE, labels.ALL_SYSTEMS)] + [
            SelectChoice(s.code, s.name) for s in subsystems
        ]

    def show_system(self, subsystem: Subsystem | None) -> None:
        """Choose the item's subsystem in the field."""
        self.system.data = subsystem.code if subsystem else PORTAL_CHOICE


class AnnouncementForm(_SystemChoice, ItemForm):
    """A 公告."""

    kind = ContentKind.ANNOUNCEMENT
    title = StringField(_l("標題"), validators=[*_required(_l("請輸入標題。")), Length(max=200)])
    category = SelectField(
        _l("分類"), choices=_choices(labels.ANNOUNCEMENT_CATEGORY_LABELS),
        validators=_required(_l("請選擇分類。")),
    )  # fmt: skip
    system = SelectField(_l("系統"), choices=[])
    body = TextAreaField(_l("內容（Markdown）"), validators=[Length(max=BODY_MAX)])
    pinned = BooleanField(_l("置頂（列在公告最前面）"))
    attachment = FileField(_l("附件"))

    def text_fields(self) -> tuple[str, ...]:
        return ("title", "body", "pinned")

    def fill(self, item) -> None:
        super().fill(item)
        self.category.data = item.category.value
        self.show_system(item.subsystem)

    def values(self, systems: dict[str, int]) -> dict[str, Any]:
        return {
            "title": self.title.data.strip(),
            "category": AnnouncementCategory(self.category.data),
            "subsystem_id": systems.get(self.system.data),
            "body": self.body.data or "",
            "pinned": bool(self.pinned.data),
        }


class DownloadForm(_SystemChoice, ItemForm):
    """A file in 下載專區."""

    kind = ContentKind.DOWNLOAD
    title = StringField(
        _l("名稱"), validators=[*_required(_l("請輸入檔案名稱。")), Length(max=200)]
    )
    description = TextAreaField(_l("說明"), validators=[Length(max=500)])
    category = SelectField(
        _l("分類"), choices=_choices(labels.DOWNLOAD_CATEGORY_LABELS),
        validators=_required(_l("請選擇分類。")),
    )  # fmt: skip
    system = SelectField(_l("系統"), choices=[])
    attachment = FileField(_l("檔案"))

    def text_fields(self) -> tuple[str, ...]:
        return ("title", "description")

    def fill(self, item) -> None:
        super().fill(item)
        self.category.data = item.category.value
        self.show_system(item.subsystem)

    def values(self, systems: dict[str, int]) -> dict[str, Any]:
        return {
            "title": self.title.data.strip(),
            "description": (self.description.data or "").strip(),
            "category": DownloadCategory(self.category.data),
            "subsystem_id": systems.get(self.system.data),
        }


class FaqForm(ItemForm):
    """A question and its answer."""

    kind = ContentKind.FAQ
    topic = SelectField(
        _l("主題"), choices=_choices(labels.FAQ_TOPIC_LABELS),
        validators=_required(_l("請選擇主題。")),
    )  # fmt: skip
    question = StringField(_l("問題"), validators=[*_required(_l("請輸入問題。")), Length(max=300)])
    answer = TextAreaField(
        _l("回答（Markdown）"),
        validators=[*_required(_l("請輸入回答。")), Length(max=BODY_MAX)],
    )

    def text_fields(self) -> tuple[str, ...]:
        return ("question", "answer")

    def fill(self, item) -> None:
        super().fill(item)
        self.topic.data = item.topic.value

    def values(self, systems: dict[str, int]) -> dict[str, Any]:
        return {
            "topic": FaqTopic(self.topic.data),
            "question": self.question.data.strip(),
            "answer": self.answer.data,
        }


class GuideForm(ItemForm):
    """A page of 新手上路 or 新手指南."""

    kind = ContentKind.GUIDE
    guide_kind = SelectField(
        _l("類別"), choices=_choices(labels.GUIDE_KIND_LABELS),
        validators=_required(_l("請選擇類別。")),
    )  # fmt: skip
    title = StringField(_l("標題"), validators=[*_required(_l("請輸入標題。")), Length(max=200)])
    summary = StringField(_l("摘要"), validators=[Length(max=300)])
    body = TextAreaField(_l("步驟與說明（Markdown）"), validators=[Length(max=BODY_MAX)])
    attachment = FileField(_l("圖片"))

    def text_fields(self) -> tuple[str, ...]:
        return ("title", "summary", "body")

    def fill(self, item) -> None:
        super().fill(item)
        self.guide_kind.data = item.kind.value

    def values(self, systems: dict[str, int]) -> dict[str, Any]:
        return {
            "kind": GuideKind(self.guide_kind.data),
            "title": self.title.data.strip(),
            "summary": (self.summary.data or "").strip(),
            "body": self.body.data or "",
        }


class ContactForm(ItemForm):
    """A contact window."""

    kind = ContentKind.CONTACT
    name = StringField(
        _l("窗口名稱"), validators=[*_required(_l("請輸入窗口名稱。")), Length(max=100)]
    )
    topics = StringField(_l("服務項目"), validators=[Length(max=300)])
    people = StringField(_l("聯絡人"), validators=[Length(max=200)])
    phone = StringField(_l("電話"), validators=[Length(max=100)])
    email = StringField(
        _l("電子郵件"),
        validators=[Optional(), Email(_l("電子郵件格式不正確。")), Length(max=254)],
    )
    hours = StringField(_l("服務時間"), validators=[Length(max=200)])

    def text_fields(self) -> tuple[str, ...]:
        return ("name", "topics", "people", "phone", "email", "hours")

    def values(self, systems: dict[str, int]) -> dict[str, Any]:
        return {name: (self[name].data or "").strip() for name in self.text_fields()}


FORMS = {
    ContentKind.ANNOUNCEMENT: AnnouncementForm,
    ContentKind.DOWNLOAD: DownloadForm,
    ContentKind.FAQ: FaqForm,
    ContentKind.GUIDE: GuideForm,
    ContentKind.CONTACT: ContactForm,
}
