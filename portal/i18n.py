"""Translations for templates and forms, found once per request instead of once per string.

Flask-Babel looks the request's catalogue up again for every string (the locale, its
identifier, the cache key), and Jinja's i18n extension wraps each call twice more: about
40 µs per `_()` in a template, and a page holds 20 to 60 of them. Flask-WTF goes further and
reads WTForms' own catalogue from disk on every request. Here the catalogue is remembered
for the request (and WTForms' per language, for the process), so a string costs a dict
look-up. Flask-Babel still chooses the locale and loads the catalogues; `force_locale`
keeps working because the remembered catalogue is tied to the locale it was found for.
"""

from babel import support
from flask import Flask, g
from flask_babel import get_locale, get_translations
from flask_babel.speaklater import LazyString
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup
from wtforms.i18n import messages_path

_WTFORMS_CATALOGUES: dict[str, object] = {}


def current_translations():
    """The request's catalogue: Flask-Babel's, looked up once per request and locale.

    It is kept beside Flask-Babel's own per-request state, next to the locale it was found
    for: `force_locale` replaces that locale, so the catalogue is found again. Should a
    Flask-Babel release keep its state elsewhere, every call simply asks Flask-Babel.
    """
    try:
        state = g._flask_babel
        locale, translations = state.portal_translations
        if locale is state.babel_locale:
            return translations
    except (AttributeError, RuntimeError):  # nothing remembered yet, or no app context
        pass
    translations = get_translations()
    if g:
        state = getattr(g, "_flask_babel", None)
        if state is not None:
            state.portal_translations = (get_locale(), translations)
    return translations


def gettext(string: str, **variables) -> str:
    """Flask-Babel's `gettext`, through the request's remembered catalogue."""
    text = current_translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    """Flask-Babel's `ngettext`, through the request's remembered catalogue."""
    variables.setdefault("num", num)
    return current_translations().ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables) -> LazyString:
    """Flask-Babel's `lazy_gettext`: translated when shown, in the language of that request."""
    return LazyString(gettext, string, **variables)


class _RequestCatalogue:
    """Stands for the request's catalogue where no render has bound one (imported macros)."""

    def ugettext(self, string: str) -> str:
        return current_translations().ugettext(string)

    def ungettext(self, singular: str, plural: str, num: int) -> str:
        return current_translations().ungettext(singular, plural, num)


def bound_template_translations(translations) -> dict:
    """`_`, `gettext` and `ngettext` for one render, bound to the request's catalogue.

    They behave as Jinja's new-style gettext, except that a string without variables is
    not run through `%` formatting (a bare "%" in such a message stays as written).
    """

    @pass_eval_context
    def gettext(eval_context: EvalContext, string: str, **variables) -> str:
        text = translations.ugettext(string)
        if eval_context.autoescape:
            text = Markup(text)
        return text % variables if variables else text

    @pass_eval_context
    def ngettext(
        eval_context: EvalContext, singular: str, plural: str, num: int, **variables
    ) -> str:
        variables.setdefault("num", num)
        text = translations.ungettext(singular, plural, num)
        if eval_context.autoescape:
            text = Markup(text)
        return text % variables

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


def wtforms_translations():
    """WTForms' built-in messages in the request's language, read from disk once per language."""
    locale = str(get_locale())
    catalogue = _WTFORMS_CATALOGUES.get(locale)
    if catalogue is None:
        catalogue = _WTFORMS_CATALOGUES.setdefault(
            locale, support.Translations.load(messages_path(), [locale], domain="wtforms")
        )
    return catalogue


def init_template_translations(app: Flask) -> None:
    """Every render gets `_`, `gettext` and `ngettext` bound to the request's catalogue.

    Macros imported without context cannot see the render's variables: the globals they
    fall back on find the catalogue per call, still without Flask-Babel's detour. Flask-Babel's
    i18n extension stays: it compiles `{% trans %}`.
    """
    app.jinja_env.globals.update(bound_template_translations(_RequestCatalogue()))
    app.context_processor(lambda: bound_template_translations(current_translations()))
