"""One error type for every problem in a catalog file: it names the file, the item and the field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError


class CatalogError(Exception):
    """A problem in a catalog file, located as precisely as the loader can."""

    def __init__(self, file: str, item: str | None, field: str | None, message: str) -> None:
        self.file, self.item, self.field, self.message = file, item, field, message
        where = file
        if item:
            where += f", item {item}"
        if field:
            where += f", field {field}"
        super().__init__(f"{where}: {message}")

    @classmethod
    def from_validation(
        cls, file: str, key: str, data: Any, exc: ValidationError, skip: int = 0
    ) -> CatalogError:
        """Turn Pydantic's first error into one that names the item by its id, not its index.

        ``data`` is the list under ``key``; ``skip`` drops leading parts of the error's location
        that lead to that list (e.g. ``("targets",)`` when a whole file was validated).
        """
        first = exc.errors()[0]
        loc: Sequence[int | str] = list(first["loc"])[skip:]
        item: str | None = None
        if loc and isinstance(loc[0], int) and isinstance(data, list) and loc[0] < len(data):
            entry = data[loc[0]]
            label = None
            if isinstance(entry, dict):
                label = (entry.get("id") or entry.get("code") or entry.get("number")
                         or entry.get("target"))
            item = f"{key}[{loc[0]}]" + (f" ({label})" if label else "")
            loc = list(loc)[1:]
        field = ".".join(str(part) for part in loc) or None
        extra = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return cls(file, item or key, field, first["msg"] + extra)
