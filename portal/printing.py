"""Printable paper forms rendered to PDF — the only module of the project that imports WeasyPrint.

Each form lives in `forms/<name>/` at the repository root: `template.html` (Jinja2),
`style.css` and `VERSION`. Callers hand over plain values and get PDF bytes back; nothing
here needs a Flask app context.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Final, Literal, NamedTuple

import segno
import weasyprint
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher

FORMS_DIR: Final = Path(__file__).resolve().parent.parent / "forms"
MANAGER_CHANGE_FORM: Final = "manager_change"

ManagerFormKind = Literal["A", "B", "C"]
ManagerChange = Literal["promote", "demote"]

_FORM_NAME_RE: Final = re.compile(r"[a-z][a-z0-9_]*")

# Autoescape: every value printed comes from an applicant, and WeasyPrint would happily
# follow markup injected into an institution or department name.
_environment: Final = Environment(
    loader=FileSystemLoader(FORMS_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)

# The parsed stylesheet (~35 ms to parse) and the FontConfiguration (~10 ms to build, and its
# Pango font map keeps the faces it has loaded) are made once per process. A FontConfiguration
# wraps one Pango FT2 font map plus plain-dict caches, none of it documented as safe to use
# from two threads at once, and gunicorn's gthread workers do run requests on several threads:
# so layout and PDF output run under one lock. The GIL already serialises most of that
# pure-Python work, so the lock costs little; the template and the HTML parse stay outside it.
_render_lock: Final = threading.Lock()


@dataclass(frozen=True)
class ManagerFormData:
    """What the 管理者帳號申請、異動表 prints, as plain values.

    `national_id_display` is printed as given: the caller decides between the masked
    form (the default the portal should use) and the full number.
    """

    application_no: str
    applied_on: date
    kind: ManagerFormKind
    change: ManagerChange | None
    institution_name: str
    institution_code: str
    username: str
    applicant_name: str
    national_id_display: str
    department: str
    phone_area: str
    phone_number: str
    phone_extension: str
    email: str

    def __post_init__(self) -> None:
        """Refuse a kind and a change that the paper form could not tick consistently."""
        if self.kind not in ("A", "B", "C"):
            raise ValueError(f"unknown manager form kind {self.kind!r}")
        if (self.kind == "C") != (self.change is not None):
            raise ValueError("a permission change (promote/demote) goes with kind C, and only C")
        if self.change not in (None, "promote", "demote"):
            raise ValueError(f"unknown permission change {self.change!r}")


@dataclass(frozen=True)
class BlankManagerForm:
    """The 管理者帳號申請、異動表 with nothing filled in, for those who fill it in by hand.

    It has ManagerFormData's fields, all empty and not settable: no number (so no QR code),
    no date, no kind ticked.
    """

    application_no: None = field(default=None, init=False)
    applied_on: None = field(default=None, init=False)
    kind: None = field(default=None, init=False)
    change: None = field(default=None, init=False)
    institution_name: str = field(default="", init=False)
    institution_code: str = field(default="", init=False)
    username: str = field(default="", init=False)
    applicant_name: str = field(default="", init=False)
    national_id_display: str = field(default="", init=False)
    department: str = field(default="", init=False)
    phone_area: str = field(default="", init=False)
    phone_number: str = field(default="", init=False)
    phone_extension: str = field(default="", init=False)
    email: str = field(default="", init=False)


class _Page(NamedTuple):
    """One printed page: the form's values and its number as a QR code (None when blank)."""

    form: ManagerFormData | BlankManagerForm
    qr_data_uri: str | None


def render_manager_forms(pages: Sequence[ManagerFormData]) -> bytes:
    """The pre-filled 管理者帳號申請、異動表, one A4 page per person, as one PDF.

    A filing that changes two people (a hand-over) prints two pages, each carrying the
    filing's number as text and as a QR code.
    """
    if not pages:
        raise ValueError("a manager form needs at least one page")
    return _render_manager_pages([_Page(data, _qr_data_uri(data.application_no)) for data in pages])


def render_manager_form(data: ManagerFormData) -> bytes:
    """The pre-filled 管理者帳號申請、異動表 as a one-page A4 PDF."""
    return render_manager_forms([data])


def render_blank_manager_form() -> bytes:
    """The 管理者帳號申請、異動表 with every value empty and no number, as a one-page A4 PDF."""
    return _render_manager_pages([_Page(BlankManagerForm(), None)])


def _render_manager_pages(pages: list[_Page]) -> bytes:
    """Fill the template with these pages and lay it out as one PDF."""
    html = _environment.get_template(f"{MANAGER_CHANGE_FORM}/template.html").render(
        pages=pages,
        version=form_version(MANAGER_CHANGE_FORM),
    )
    return _html_to_pdf(MANAGER_CHANGE_FORM, html)


@cache
def form_version(name: str) -> str:
    """The version printed on form `name` (its `VERSION` file), e.g. ``2026.1``."""
    return (_form_dir(name) / "VERSION").read_text(encoding="utf-8").strip()


def split_phone(phone: str) -> tuple[str, str, str]:
    """Split a stored phone such as ``02-12345678#123`` into (area, number, extension)."""
    rest, _, extension = phone.strip().partition("#")
    area, dash, number = rest.partition("-")
    if not dash:
        # No area code in what was stored: print it all in the number blank.
        area, number = "", rest
    return area, number, extension


def _form_dir(name: str) -> Path:
    """The folder of form `name`; the name is checked so it can never leave FORMS_DIR."""
    if not _FORM_NAME_RE.fullmatch(name):
        raise ValueError(f"not a form name: {name!r}")
    return FORMS_DIR / name


def _qr_data_uri(text: str) -> str:
    """`text` as a QR code, an SVG data: URI that WeasyPrint embeds as vector art."""
    # Error level M survives a smudged or stamped-over print; omitsize gives the SVG a
    # viewBox instead of a pixel size, so the stylesheet decides how large it prints.
    qr = segno.make_qr(text, error="m")
    return qr.svg_data_uri(scale=1, border=4, omitsize=True)


def _html_to_pdf(name: str, html: str) -> bytes:
    """Lay out `html` with form `name`'s stylesheet and return the PDF."""
    # Only data: URIs (the QR code) may be fetched: no network, no files, whatever a
    # template or a value might contain.
    fetcher = URLFetcher(allowed_protocols=("data",), fail_on_errors=True)
    document = weasyprint.HTML(string=html, url_fetcher=fetcher)
    try:
        with _render_lock:
            return document.write_pdf(
                stylesheets=[_stylesheet(name)],
                font_config=_font_config(),
            )
    except FatalURLFetchingError as error:
        # WeasyPrint makes this a BaseException, which would slip past Flask's error
        # handling; a form that cannot load its own resources is an ordinary bug.
        raise RuntimeError(f"form {name!r} refers to a resource it may not load") from error


@cache
def _font_config() -> FontConfiguration:
    """The process's font configuration; built on first use and only under _render_lock."""
    return FontConfiguration()


@cache
def _stylesheet(name: str) -> weasyprint.CSS:
    """Form `name`'s parsed stylesheet; parsed on first use and only under _render_lock."""
    return weasyprint.CSS(filename=_form_dir(name) / "style.css", font_config=_font_config())
