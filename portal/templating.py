"""What every template calls often, done in Python once instead of in Jinja each time.

A page's header, menu and form fields call `url_for` a dozen times and the field macros
several more macros per field; in Jinja each of those calls costs many times the work it
does. These helpers keep the templates' meaning and remove that overhead.
"""

from collections.abc import Callable

from flask import Flask, request, url_for
from markupsafe import Markup, escape
from wtforms import Field, PasswordField

# Only these arguments leave a URL the same for every request of the app: none, or a
# static file's name. Other values (an id, `next`) would make the memo grow without end.
_MEMO_ARGUMENTS = (frozenset(), frozenset({"filename"}))


def memoised_url_for(app: Flask):
    """`url_for` for templates: URLs with no arguments (or a static file) built once.

    Such a URL depends only on the endpoint and where the app is mounted (the request's
    script root); the app has no URL defaults or value preprocessors that could change it.
    """
    memo: dict[tuple[str, str, str | None], str] = {}

    def template_url_for(endpoint: str, **values) -> str:
        if endpoint[:1] == "." or frozenset(values) not in _MEMO_ARGUMENTS:
            return url_for(endpoint, **values)
        key = (request.script_root, endpoint, values.get("filename"))
        url = memo.get(key)
        if url is None:
            url = memo.setdefault(key, url_for(endpoint, **values))
        return url

    return template_url_for


def menu_link(template_url_for: Callable[..., str]):
    """`nav_link` for templates: a menu entry, marked when it is the page shown.

    aria-current="page" on the page itself (or one of `same`, its other addresses);
    aria-current="true" on a page within its section (`within`: a detail, a form's answer).
    """

    def nav_link(endpoint: str, label: str, same=(), within=()) -> Markup:
        shown = request.endpoint
        if shown == endpoint or shown in same:
            current = ' aria-current="page"'
        elif shown in within:
            current = ' aria-current="true"'
        else:
            current = ""
        return Markup(
            f'<a href="{escape(template_url_for(endpoint))}"{current}>{escape(label)}</a>'
        )

    return nav_link


def cleared_password(field: Field) -> bool:
    """A password field of a refused form: it is sent back empty, and the page says so."""
    return isinstance(field, PasswordField) and bool(field.raw_data and field.raw_data[0])


def described_by(field: Field, hint: bool = False, more: str = "") -> str:
    """The ids that describe a field: its error, its hint, the cleared-password note, `more`."""
    ids = [f"{field.id}-error"]
    if hint:
        ids.append(f"{field.id}-hint")
    if cleared_password(field):
        ids.append(f"{field.id}-cleared")
    if more:
        ids.append(more)
    return " ".join(ids)


def init_templating(app: Flask) -> None:
    """Give the templates the helpers above."""
    template_url_for = memoised_url_for(app)
    app.jinja_env.globals.update(
        url_for=template_url_for, nav_link=menu_link(template_url_for), described_by=described_by
    )
    app.jinja_env.tests["cleared_password"] = cleared_password
