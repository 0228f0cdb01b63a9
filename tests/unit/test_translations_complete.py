"""Every message the portal can show has an English translation.

Messages are extracted from the sources (with babel.cfg, as `pybabel extract` does), not read
from messages.pot, so a string added to the code without updating the catalogs fails here:

    make i18n-update   # extract + update, then translate the new entries in en/messages.po
"""

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
ENGLISH_PO = ROOT / "portal" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
# Also in babel.cfg; repeated for Babel versions that ignore per-section keywords there.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifr]")


def _only_portal(path: str) -> bool:
    relative = Path(path).relative_to(ROOT)
    return relative.parts[0] == "portal" and not relative.name.startswith((".", "_"))


def extracted_messages() -> dict[str, str]:
    """msgid (the singular, for plurals) -> where it is used, for every marked string."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    messages: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, directory_filter=_only_portal
    ):
        ids = message if isinstance(message, tuple) else (message,)
        for msgid in ids:
            if msgid:
                messages.setdefault(msgid, f"{filename}:{lineno}")
    return messages


def test_extraction_sees_python_and_templates():
    messages = extracted_messages()
    assert "醫事機構代碼" in messages  # lazy_gettext in forms.py
    assert "帳號申請" in messages  # _() in templates
    assert "帳號申請已收到（申請編號 %(no)s）" in messages  # gettext in notifications.py


def test_every_message_has_an_english_translation():
    with open(ENGLISH_PO, "rb") as po:
        catalog = read_po(po)
    problems = []
    for msgid, where in sorted(extracted_messages().items(), key=lambda item: item[1]):
        entry = catalog.get(msgid)
        strings = (
            ()
            if entry is None
            else (entry.string if isinstance(entry.string, tuple) else (entry.string,))
        )
        if entry is None:
            problems.append(f"missing     {where}  {msgid!r}")
        elif not all(strings):
            problems.append(f"untranslated {where}  {msgid!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy       {where}  {msgid!r}")
        elif any(set(PLACEHOLDER.findall(s)) != set(PLACEHOLDER.findall(msgid)) for s in strings):
            problems.append(f"placeholders {where}  {msgid!r} -> {strings!r}")
        elif any("%" in PLACEHOLDER.sub("", s) for s in strings):
            # Jinja's newstyle gettext always applies `%`, so a stray one breaks the page.
            problems.append(f"stray %     {where}  {msgid!r} -> {strings!r}")
    assert not problems, (
        f"{len(problems)} message(s) without a usable English translation in {ENGLISH_PO.name}"
        " (run the extract/update commands, then translate):\n" + "\n".join(problems)
    )
