"""Reading catalog files: one way to read a YAML file and validate it, so that every kind of
catalog file (plans, units, indicators, methods) reports problems the same way, naming the
file, the item and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from chiso.catalog.errors import CatalogError

M = TypeVar("M", bound=BaseModel)


def read_mapping(path: Path) -> dict[str, Any]:
    """The top-level mapping of a YAML file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogError(str(path), None, None, f"not valid YAML: {exc}") from exc
    except ValueError as exc:  # PyYAML builds dates while parsing: 2026-13-31 fails here
        raise CatalogError(str(path), None, None, f"a value cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(str(path), None, None, f"expected a mapping at the top of {path.name}")
    return data


def load_model(path: Path, model: type[M]) -> M:
    """Read and validate a file whose top-level keys hold lists of items (``targets:``,
    ``indicators:`` …): an error names the item by its id, code or target, and the field."""
    data = read_mapping(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        loc = list(exc.errors()[0]["loc"])
        key = str(loc[0]) if loc else ""
        items = data.get(key) if key else None
        if isinstance(items, list) and len(loc) > 1:
            raise CatalogError.from_validation(str(path), key, items, exc, skip=1) from exc
        field = ".".join(str(p) for p in loc[1:]) or None
        raise CatalogError(str(path), key or None, field, exc.errors()[0]["msg"]) from exc
