"""The portal's work as Prometheus reads it, counted in the database at each scrape."""

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from portal.db_types import utcnow
from portal.extensions import db
from portal.localtime import local_date
from portal.outbox.services import outbox_backlog
from portal.registration.models import Application, ApplicationState
from portal.review.deadlines import overdue_counts, waiting_counts
from portal.schedule.services import last_runs
from portal.workcalendar.services import current_calendar


class PortalCollector:
    """Queues, overdue cases, the outbox and the daily jobs, read when collected.

    A database that does not answer gives `portal_database_up 0` and none of the rest,
    rather than a failed scrape.
    """

    def collect(self):
        """Yield the gauges, computed now."""
        up = GaugeMetricFamily("portal_database_up", "Whether the scrape could read the database.")
        try:
            gauges = list(self._from_database())
        except SQLAlchemyError:
            db.session.rollback()
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from gauges

    def _from_database(self):
        now = utcnow()
        waiting = GaugeMetricFamily(
            "portal_queue_waiting",
            "Filings waiting for a decision: the help desk's paper review (application, "
            "change) and unit managers' approvals (general_user).",
            labels=["queue", "kind"],
        )
        for kind, count in waiting_counts().items():
            waiting.add_metric(["help_desk", kind], count)
        awaiting_manager = db.session.scalar(
            select(func.count())
            .select_from(Application)
            .where(Application.state == ApplicationState.AWAITING_MANAGER)
        )
        waiting.add_metric(["unit_manager", "general_user"], awaiting_manager)
        yield waiting

        overdue = GaugeMetricFamily(
            "portal_help_desk_overdue",
            "Paper filings past their due date (working days, closures included).",
            labels=["kind"],
        )
        for kind, count in overdue_counts(current_calendar(), local_date(now)).items():
            overdue.add_metric([kind], count)
        yield overdue

        queued, dead, oldest = outbox_backlog()
        outbox = GaugeMetricFamily(
            "portal_outbox_messages", "E-mail waiting to be sent, and dead.", labels=["state"]
        )
        outbox.add_metric(["queued"], queued)
        outbox.add_metric(["dead"], dead)
        yield outbox
        yield GaugeMetricFamily(
            "portal_outbox_oldest_queued_age_seconds",
            "How long the oldest waiting e-mail has waited (0 when none waits).",
            value=(now - oldest).total_seconds() if oldest else 0,
        )

        ran = GaugeMetricFamily(
            "portal_scheduled_job_last_run_timestamp_seconds",
            "When each daily job last ran (Unix time).",
            labels=["job"],
        )
        for job, moment in sorted(last_runs().items()):
            ran.add_metric([job], moment.timestamp())
        yield ran
