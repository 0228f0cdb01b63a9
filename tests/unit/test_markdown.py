"""Markdown from the administrator is shown as text: no HTML, scripts or dangerous links."""

from html.parser import HTMLParser

import pytest

from portal.content.markdown import ALLOWED_TAGS, plain_text, render_markdown


class Elements(HTMLParser):
    """Every element of a piece of HTML with its attributes (text is only text)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs) -> None:
        self.found.append((tag, dict(attrs)))


HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD4=)",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2Zz4=)",
    "![x](//evil.example/x.png)",
    "![x](https://evil.example/track.png)",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=//evil.example></iframe>",
    "<style>body{display:none}</style>",
    '[x](https://ok.example "t" onmouseover=alert(1))',
    "<details open ontoggle=alert(1)>",
    "&#106;avascript:alert(1)",
    "[x](&#106;avascript:alert(1))",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_is_inert(text):
    html = str(render_markdown(text))
    for tag, attributes in Elements(html).found:
        assert tag in ALLOWED_TAGS, (text, html)
        assert not any(name.startswith("on") for name in attributes), (text, html)
        for name in ("href", "src"):
            value = "".join((attributes.get(name) or "").split()).lower()
            assert not value.startswith(("javascript:", "vbscript:", "data:")), (text, html)
        if "src" in attributes:
            assert attributes["src"].startswith("/") and not attributes["src"].startswith("//")


def test_ordinary_markdown_becomes_html():
    html = str(render_markdown("## 步驟\n\n- 一\n- 二\n\n[連結](https://example.org) **粗**"))
    assert "<h2>步驟</h2>" in html and "<li>一</li>" in html and "<strong>粗</strong>" in html
    assert '<a href="https://example.org" rel="noopener noreferrer">連結</a>' in html


def test_pictures_only_from_this_site():
    assert '<img src="/static/guide/register.png" alt="畫面">' in str(
        render_markdown("![畫面](/static/guide/register.png)")
    )


def test_plain_text_for_summaries():
    assert plain_text("## 標題\n\n**粗** <b>x</b>", 100) == "標題 粗 <b>x</b>"
    assert plain_text("字" * 300, 10) == "字" * 9 + "…"
