"""The audit trail is append-only in the database itself."""

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DatabaseError

from portal.audit.models import AuditEvent
from portal.audit.services import Origin, record_event


def test_audit_events_cannot_be_changed_or_deleted(db_session):
    event = record_event(
        "application.submitted",
        subject_type="application",
        subject_id="1",
        origin=Origin("127.0.0.1"),
    )
    db_session.flush()
    for statement in (
        update(AuditEvent).where(AuditEvent.id == event.id).values(action="tampered"),
        delete(AuditEvent).where(AuditEvent.id == event.id),
    ):
        savepoint = db_session.begin_nested()
        with pytest.raises(DatabaseError, match="append-only"):
            db_session.execute(statement)
        savepoint.rollback()
    assert (
        db_session.execute(
            text("SELECT action FROM audit_events WHERE id = :id"), {"id": event.id}
        ).scalar_one()
        == "application.submitted"
    )
