"""Logs: one JSON object per line (or text for people), each with the request id.

Every process of the portal (gunicorn's workers, `flask worker`, commands) logs through the
root logger's one handler installed here, to standard error, where systemd's journal or the
container runtime collects it.
"""

import logging

from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter

from portal.observability.request_ids import current_request_id

LOG_FORMATS = ("json", "text", "none")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Marks the handler installed here, so that a second app in one process replaces it.
_HANDLER_MARK = "_portal_log_handler"


class JsonLogFormatter(JsonFormatter):
    """time, level, logger, message, request_id, then whatever the call passed in `extra`."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            json_ensure_ascii=False,
        )

    def add_fields(self, log_data, record, message_dict) -> None:
        """The standard fields, and the request id of the request or job being served."""
        super().add_fields(log_data, record, message_dict)
        request_id = current_request_id()
        if request_id is not None:
            log_data["request_id"] = request_id


class RequestIdFilter(logging.Filter):
    """Puts the request id on each record, for the text format."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record; adds `request_id` ("-" outside any request or job)."""
        record.request_id = current_request_id() or "-"
        return True


def configure_logging(log_format: str, level: str) -> None:
    """Send every logger's records to standard error in the chosen format ("none": leave
    logging as the host process set it up)."""
    if log_format == "none":
        return
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    setattr(handler, _HANDLER_MARK, True)
    if log_format == "json":
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.addFilter(RequestIdFilter())
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    # The portal's own records from LOG_LEVEL up; libraries' (WeasyPrint reports each step
    # of every PDF at INFO) from WARNING up.
    root.setLevel(logging.WARNING)
    logging.getLogger("portal").setLevel(level.upper())
    # Flask's own handler on the app's logger would print each record a second time.
    logging.getLogger("portal").removeHandler(default_handler)
