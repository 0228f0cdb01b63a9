"""Column types shared by the models."""

import enum
from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum
from sqlalchemy.types import TypeDecorator

# The largest id an id column holds (INTEGER on PostgreSQL); ids start at 1.
MAX_ID = 2**31 - 1


def parse_id(text: str | None) -> int:
    """An id as a form sends it; ValueError for anything no id column holds.

    PostgreSQL refuses a larger number in a comparison with an id column, where it should
    simply be no row.
    """
    value = int(text or "")
    if not 1 <= value <= MAX_ID:
        raise ValueError(f"not an id: {text!r}")
    return value


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, whatever the engine stores.

    SQLite keeps no offset, so values read back are naive; this type makes both engines
    hand back the same aware values and refuses naive ones on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        """Store the value in UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite compares timestamps as text, so store them without an offset suffix.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        """Hand back an aware UTC value."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def enum_type(enum_class: type[enum.Enum]) -> Enum:
    """A portable column type for a string enum, stored by value with a CHECK constraint."""
    return Enum(
        enum_class,
        name=enum_class.__name__.lower(),
        native_enum=False,
        create_constraint=True,
        length=30,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
