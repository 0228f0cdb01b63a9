"""Markdown an administrator writes, turned into HTML that can do nothing but show text.

Two layers: markdown-it-py's `js-default` preset (CommonMark with tables and strikethrough,
raw HTML off, so `<script>` comes out as text, and its link check refusing javascript:,
vbscript:, file: and most data: URLs), then nh3's allow-list of tags, attributes and URL
schemes. The second layer holds even if the first changes its defaults in a new release.
Table cells lose markdown-it's alignment: it is a style attribute, which the CSP refuses.
"""

from functools import lru_cache
from html import unescape

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_parser = MarkdownIt("js-default")

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "h2", "h3", "h4", "strong", "em", "s", "del", "code", "pre",
        "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th",
        "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
}
LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})


@lru_cache(maxsize=512)
def render_markdown(text: str) -> Markup:
    """The text as safe HTML: only the allowed tags, links and same-site pictures."""
    html = _parser.render(text or "")
    cleaned = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute_filter,
        url_schemes=set(LINK_SCHEMES),
        link_rel="noopener noreferrer",
    )
    return Markup(cleaned)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """Pictures only from this site (the page's CSP would block others anyway)."""
    if tag == "img" and attribute == "src":
        return value if value.startswith("/") and not value.startswith("//") else None
    return value


def plain_text(text: str, limit: int = 200) -> str:
    """The text with its Markdown drawn as plain words, shortened: for feeds and summaries."""
    rendered = nh3.clean(_parser.render(text or ""), tags=set())
    words = " ".join(unescape(rendered).split())
    return words if len(words) <= limit else words[: limit - 1] + "…"
