"""The one check of a redirect target taken from the request (`next`)."""

import re
from urllib.parse import urlsplit

# Longer than any page of ours with its query; longer is no link a person followed.
MAX_TARGET_LENGTH = 2000
# Browsers strip C0 controls and spaces from both ends of a URL…
_STRIPPED = "".join(chr(code) for code in range(0x21))
# …and drop tabs and line breaks anywhere in a URL (WHATWG URL standard).
_DROPPED = re.compile(r"[\t\n\r]")
# C0 controls and DEL: never part of a path we would send someone to.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_next(target: str | None) -> str | None:
    """A path on this site to go on to, as a browser will read it; None if it is not one.

    The target is read as a browser reads a Location header: spaces and controls at the
    ends are stripped, tabs and line breaks anywhere dropped, backslashes taken as
    slashes. What is left must be a path on this site: one leading "/", not "//", with
    no scheme and no host. Otherwise a tab in "/<tab>/evil.example" or the backslash in
    "/\\evil.example" would send the person to evil.example, and a line break in the
    target would break the Location header.
    """
    if not target or len(target) > MAX_TARGET_LENGTH:
        return None
    as_read = _DROPPED.sub("", target.strip(_STRIPPED)).replace("\\", "/")
    if _CONTROL.search(as_read):
        return None
    if not as_read.startswith("/") or as_read.startswith("//"):
        return None
    parts = urlsplit(as_read)
    if parts.scheme or parts.netloc:
        return None
    return as_read
