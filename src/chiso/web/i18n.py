"""Languages: Vietnamese first, English second.

Interface strings are gettext messages with English message ids, in
``locale/<lang>/LC_MESSAGES/*.po`` (one file per part of the interface: ``messages.po``
for the catalog pages, ``dashboard.po``, ``map.po``, …), read with Babel at start and merged.
Numbers, dates and periods are phrased in the reader's locale by :mod:`chiso.web.format`.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from chiso.text import Said

LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@lru_cache
def translations(locale: str) -> NullTranslations:
    files = sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"))
    if not files:
        return NullTranslations()
    merged: Translations | None = None
    for po in files:
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        part = Translations(buffer)
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    assert merged is not None
    return merged


def gettext(message: str) -> str:
    return str(translations(current_locale.get()).gettext(message))


def ngettext(singular: str, plural: str, n: int) -> str:
    return str(translations(current_locale.get()).ngettext(singular, plural, n))


def said(text: str) -> str:
    """A room's message in the reader's language: a :class:`chiso.text.Said` by its template
    (its own Vietnamese, or the catalogue's) with its parts filled in; other text as the
    catalogue has it (or as it is)."""
    if not isinstance(text, Said):
        return gettext(text)
    template = (text.vi if current_locale.get() == "vi" and text.vi
                else gettext(text.template))
    try:
        return template % text.params if text.params else template
    except (KeyError, ValueError, TypeError):  # a translation that lost a part: say it as sent
        return str(text)


def pick(vi: str | None, en: str | None) -> str:
    """Choose between a Vietnamese and an English text from data (names, titles)."""
    if current_locale.get() == "en" and en:
        return en
    return vi or en or ""
