"""The unit registry: loads the unit files, resolves names as documents write them, and finds
units the way a person types them ("ha dong", "khoa hoc cong nghe")."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import TypeAdapter, ValidationError

from chiso.catalog.errors import CatalogError
from chiso.catalog.files import read_mapping
from chiso.text import fold
from chiso.units.models import Group, Unit, UnitKind

# Words a person may leave out when typing a unit's name.
_PREFIXES = ("uy ban nhan dan", "ubnd", "phuong", "xa", "so", "cac")

T = TypeVar("T")

_UNITS = TypeAdapter(list[Unit])
_GROUPS = TypeAdapter(list[Group])


def _strip_prefixes(folded: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if folded.startswith(prefix + " "):
                folded = folded[len(prefix) + 1 :]
                changed = True
    return folded


def _in_order(wanted: list[str], words: list[str]) -> bool:
    """True when ``wanted`` is a subsequence of ``words`` (each word found after the last)."""
    remaining = iter(words)
    return all(any(w == word for word in remaining) for w in wanted)


@dataclass(frozen=True)
class Match:
    """A look-up result: the unit or group, how well it matched, and the name it matched on."""

    code: str
    name: str
    kind: str
    score: int
    matched: str


@dataclass
class UnitRegistry:
    """Every unit and group, with an index of their folded names and aliases."""

    units: dict[str, Unit] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    _by_name: dict[str, str] = field(default_factory=dict)

    # -- building ---------------------------------------------------------------------------
    def add_unit(self, unit: Unit, source: str) -> None:
        if unit.code in self.units or unit.code in self.groups:
            raise CatalogError(source, unit.code, "code", f"duplicate code {unit.code!r}")
        self.units[unit.code] = unit
        for name in (unit.name, *unit.aliases):
            self._index(name, unit.code, source)

    def add_group(self, group: Group, source: str) -> None:
        if group.code in self.units or group.code in self.groups:
            raise CatalogError(source, group.code, "code", f"duplicate code {group.code!r}")
        self.groups[group.code] = group
        for name in (group.name, *group.aliases):
            self._index(name, group.code, source)

    def _index(self, name: str, code: str, source: str) -> None:
        key = fold(name)
        other = self._by_name.get(key)
        if other is not None and other != code:
            raise CatalogError(
                source, code, "aliases", f"name {name!r} already belongs to {other!r}"
            )
        self._by_name[key] = code

    # -- reading ----------------------------------------------------------------------------
    def resolve(self, name: str) -> str | None:
        """The code of the unit or group a document's agency name denotes, or None."""
        return self._by_name.get(fold(name))

    def name_of(self, code: str) -> str:
        if code in self.units:
            return self.units[code].name
        return self.groups[code].name

    def expand(self, code: str) -> list[str]:
        """Unit codes a unit or group stands for: a unit is itself; a group its members."""
        if code in self.units:
            return [code]
        group = self.groups[code]
        out = list(group.members)
        for unit in self.units.values():
            if unit.kind in group.member_kinds and (unit.scored or not group.scored_only):
                out.append(unit.code)
        return list(dict.fromkeys(out))

    def of_kind(self, *kinds: UnitKind) -> list[Unit]:
        return [u for u in self.units.values() if u.kind in kinds]

    def communes(self) -> list[Unit]:
        return sorted(self.of_kind(UnitKind.commune), key=lambda u: (u.order or 0, u.code))

    def find(self, query: str, limit: int = 10) -> list[Match]:
        """Units and groups whose name or alias matches what a person typed.

        Tone marks, case and the prefixes "Phường", "Xã", "Sở", "UBND" are ignored. Exact
        matches come first, then names that start with the query, then names containing it.
        """
        q = _strip_prefixes(fold(query))
        if not q:
            return []
        best: dict[str, Match] = {}
        code = query.strip().upper()
        if code in self.units or code in self.groups:  # a code copied from a page
            kind = self.units[code].kind.value if code in self.units else "group"
            best[code] = Match(code, self.name_of(code), kind, 100, code.lower())
        for key, code in self._by_name.items():
            bare = _strip_prefixes(key)
            if bare == q or key == q:
                score = 100
            elif bare.startswith(q + " ") or bare.startswith(q):
                score = 80
            elif f" {q} " in f" {bare} ":
                score = 60
            elif _in_order(q.split(), bare.split()):
                score = 30  # every word typed, in order, others between: "khoa hoc cong nghe"
            else:
                continue
            kind = self.units[code].kind.value if code in self.units else "group"
            match = Match(code, self.name_of(code), kind, score, key)
            if code not in best or best[code].score < score:
                best[code] = match
        ranked = sorted(best.values(), key=lambda m: (-m.score, len(m.name), m.name))
        return ranked[:limit]


def _validated(adapter: TypeAdapter[list[T]], data: object, path: Path, key: str) -> list[T]:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise CatalogError.from_validation(str(path), key, data, exc) from exc


def load_units(units_dir: Path) -> UnitRegistry:
    """Load ``communes.csv`` and every ``*.yaml`` (keys ``units:`` and ``groups:``)."""
    registry = UnitRegistry()
    communes = units_dir / "communes.csv"
    with communes.open(encoding="utf-8", newline="") as fh:
        for lineno, row in enumerate(csv.DictReader(fh), start=2):
            kind_vi = "phường" if row["kind"] == "phuong" else "xã"
            bare = row["name"].split(" ", 1)[1]
            english = f"{fold(bare).title()} {'Ward' if kind_vi == 'phường' else 'Commune'}"
            try:
                unit = Unit(
                    code=row["code"], name=row["name"], name_en=english,
                    kind=UnitKind.commune, commune_type=kind_vi, order=int(row["order"]),
                    aliases=[f"UBND {row['name']}", f"UBND {bare}"], scored=True,
                )
            except (ValidationError, ValueError) as exc:
                raise CatalogError(str(communes), f"line {lineno}", None, str(exc)) from exc
            registry.add_unit(unit, f"{communes}:{lineno}")
    for path in sorted(units_dir.glob("*.yaml")):
        data = read_mapping(path)
        unknown = set(data) - {"units", "groups"}
        if unknown:
            raise CatalogError(str(path), None, sorted(unknown)[0], "unknown top-level key")
        for unit in _validated(_UNITS, data.get("units") or [], path, "units"):
            registry.add_unit(unit, str(path))
        for group in _validated(_GROUPS, data.get("groups") or [], path, "groups"):
            registry.add_group(group, str(path))
    for group in registry.groups.values():
        for member in group.members:
            if member not in registry.units:
                raise CatalogError("units", group.code, "members", f"unknown unit {member!r}")
    return registry
