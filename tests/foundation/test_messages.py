"""Every interface message has its Vietnamese text: a page never falls back to English for
a Vietnamese reader because a message id was added without its translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

import chiso

SRC = Path(chiso.__file__).resolve().parent
WEB = SRC / "web"


def vietnamese() -> dict[str, str]:
    known: dict[str, str] = {}
    for po in (WEB / "locale" / "vi" / "LC_MESSAGES").glob("*.po"):
        with po.open("rb") as fh:
            for message in read_po(fh, locale="vi"):
                key = message.id if isinstance(message.id, str) else message.id[0]
                text = message.string if isinstance(message.string, str) else message.string[0]
                if key:
                    known[key] = text
    return known


def message_ids() -> list[tuple[str, int, str]]:
    found = [
        (f"web/{name}", line, message if isinstance(message, str) else message[0])
        for name, line, message, _comments, _context in extract_from_dir(
            str(WEB), [("templates/**.html", "jinja2"), ("**.py", "python")],
            options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}})
    ]
    # A room's messages that pages say in the reader's language: ``Said`` templates (the
    # file door's problems, a period that cannot be read) and the column mappings' errors.
    keywords = {**DEFAULT_KEYWORDS, "Said": None, "_BadValueError": None, "MappingError": None,
                "MappingConflictError": None}
    for module in [*sorted((SRC / "intake").glob("*.py")), SRC / "measurement" / "periods.py"]:
        found += [(f"{module.parent.name}/{module.name}", line,
                   message if isinstance(message, str) else message[0])
                  for line, message, _c, _x in extract_from_file("python", module, keywords)]
    return [(where, line, text) for where, line, text in found if text]


def test_the_extraction_sees_the_messages() -> None:
    ids = {text for _w, _l, text in message_ids()}
    assert "Wrong user name or password." in ids
    assert "The mapping maps no heading." in ids
    assert "is required and missing" in ids
    assert len(ids) > 500


def test_every_interface_message_has_its_vietnamese_text() -> None:
    known = vietnamese()
    missing = [f"{where}:{line}: {text}" for where, line, text in message_ids()
               if not known.get(text)]
    assert not missing, "messages without Vietnamese text:\n" + "\n".join(missing)
