"""Where `next` may send a person: a path on this site, as a browser will read it."""

import pytest

from portal.redirects import MAX_TARGET_LENGTH, safe_next

HOSTILE = [
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "\t//evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "\x00//evil.example",
    "https://evil.example",
    "HTTPS://evil.example/account",
    "http:/evil.example",
    "javascript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "/" + "a" * MAX_TARGET_LENGTH,
    "/acc\x00ount",
    "/account\x1b[31m",
    "",
    None,
]


@pytest.mark.parametrize("target", HOSTILE)
def test_no_target_leads_off_the_site_or_carries_controls(target):
    assert safe_next(target) is None


@pytest.mark.parametrize(
    ("target", "as_read"),
    [
        ("/account", "/account"),
        ("/applications/status?no=A1", "/applications/status?no=A1"),
        (
            "/announcements?category=%E5%85%AC%E5%91%8A",
            "/announcements?category=%E5%85%AC%E5%91%8A",
        ),
        ("/公告", "/公告"),
        # Read as a browser reads it: the line break is dropped, leaving a local path.
        ("/\r\nSet-Cookie:x", "/Set-Cookie:x"),
        ("/manager\\users", "/manager/users"),
        (" /account ", "/account"),
        ("/account\x00", "/account"),
    ],
)
def test_a_path_on_this_site_is_kept_as_a_browser_reads_it(target, as_read):
    assert safe_next(target) == as_read
