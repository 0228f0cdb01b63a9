"""The request id: one token that ties a request's log lines, audit events and queued mail
together, and the worker's jobs to what they did.

It lives in a context variable, so code far from the request (the audit helper, the log
formatter, the worker) reads it without being handed it.
"""

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
# What an incoming X-Request-ID may be (nginx's $request_id is 32 hex digits, a UUID has
# dashes): anything else, which could forge log lines or fill columns, is replaced.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,63}")
MAX_LENGTH = 64


def new_request_id() -> str:
    """A fresh id: 32 hex digits, like nginx's."""
    return secrets.token_hex(16)


def accepted_request_id(offered: str | None) -> str:
    """The id a proxy or client offered when it is a sane token, else a fresh one."""
    if offered and SANE_REQUEST_ID.fullmatch(offered):
        return offered
    return new_request_id()


def current_request_id() -> str | None:
    """The id of the request or job this code runs for, if any."""
    return REQUEST_ID.get()


@contextmanager
def request_id_set(request_id: str | None) -> Iterator[str | None]:
    """Run the block under this id (a job, a message sent for a request), then restore."""
    token = REQUEST_ID.set(request_id)
    try:
        yield request_id
    finally:
        REQUEST_ID.reset(token)
