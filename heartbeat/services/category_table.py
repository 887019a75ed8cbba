"""The category mapping page's verbs (docs/categories.md, "The Categories page"), over the CLI's
(CategoryManager): the table with its versions and paths, where each shop category's value comes
from, one-row edits that refuse a stale version, taxonomy search, accepting suggestions, the
CSV import with every bad line listed, rules and overrides as they stand.

Every value written is checked as the CLI checks it (an id or a path of the column's taxonomy or
shop); nothing is written when one is bad. Each change is recorded in the audit trail once made,
by the `actor` its front door names (the CLI's OS user when none is given).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from connectors.platform import taxonomy as taxonomies
from core.actor import Actor, cli_actor
from core.errors import ConfigError, Refused
from heartbeat.config import loader
from heartbeat.services.categories import PATH_SUFFIX, CategoryManager, Suggestion, cells_text
from profiles.category_mapping import Unmapped
from reports.action_log import plural
from tasks.stores.categories import MappingRow, RowNotFound

SEARCH_LIMIT, MAX_SEARCH_LIMIT = 20, 100
CRITERIA = ("reference_prefix", "name_contains", "manufacturer_contains", "shop_category", "connection")
MAX_ERRORS = 50  # bad lines an import lists


class ImportRefused(Refused):
    """A CSV import with bad lines: `errors` lists them all (up to MAX_ERRORS), the message the first."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(errors[0] + more)


class CategoryTable(CategoryManager):
    # -- the table ---------------------------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        """The table as `GET /api/categories` answers it: its columns, its rows (cells are ids;
        `paths` their paths), its version, and each shop category's value by column with where
        it comes from (`tree`)."""
        rows, version = self.store.rows()
        columns = self.columns()
        return {"columns": columns, "rows": [self.row_json(r) for r in rows], "version": version,
                "tree": self.inheritance(rows, [c["name"] for c in columns if c["kind"] == "platform"])}

    def row_json(self, row: MappingRow) -> dict[str, Any]:
        return {**row.as_json(), "paths": {c: self._path(c, v) or None for c, v in row.cells.items()}}

    def inheritance(self, rows: Sequence[MappingRow], platforms: Sequence[str]) -> list[dict[str, Any]]:
        """Each category of each shop column, with its value in every platform column: its own
        row's (`from` None) or its nearest mapped parent's (`from`: that category and its path)."""
        out = []
        for shop in self.shop_columns():
            tree = self._tree(shop)
            own = {int(r.cells[shop]): r for r in rows if r.cells.get(shop, "").isdigit()}
            for category in sorted(tree.names, key=tree.path):
                if tree.root is not None and tree.root not in tree.ancestors(category):
                    continue  # "Root", above the shop's root category: never part of a path
                cells = {}
                for column in platforms:
                    source = next((c for c in tree.ancestors(category)
                                   if c in own and column in own[c].cells), None)
                    if source is not None:
                        ident = own[source].cells[column]
                        cells[column] = {"id": ident, "path": self._path(column, ident) or None,
                                         "from": None if source == category else source,
                                         "from_path": None if source == category else tree.path(source)}
                row = own.get(category)
                out.append({"connection": shop, "id_category": category, "path": tree.path(category),
                            "row": row.id if row else None, "cells": cells})
        return out

    def put_row(self, row_id: int | None, cells: Mapping[str, Any], seen: int | None,
                actor: Actor | None = None) -> dict[str, Any]:
        """Write one row from `cells` (column -> id or path; empty removes the cell), unless it
        changed after version `seen` (RowChanged). A new row when `row_id` is None."""
        checked = self._cells(cells)
        if row_id is None and not checked:
            raise Refused("a new row needs at least one category")
        row = self.store.write_row(row_id, checked, seen, self.clock.now(),
                                   shop_columns=[c for c in checked if self._is_shop(c)])
        action = "categories.row_add" if row_id is None else "categories.row_edit"
        self.audit.record(actor or cli_actor(), action, f"row:{row.id}",
                          f"version {row.version}: {cells_text(row.cells)}")
        return self.row_json(row)

    def delete_row(self, row_id: int, seen: int | None, actor: Actor | None = None) -> None:
        row = self.store.write_row(row_id, {}, seen, self.clock.now())
        self.audit.record(actor or cli_actor(), "categories.row_remove", f"row:{row_id}",
                          f"version {row.version}")

    def _cells(self, cells: Mapping[str, Any]) -> dict[str, str]:
        if not isinstance(cells, Mapping):
            raise Refused("cells: expected an object of column -> category")
        out = {}
        for column, value in cells.items():
            problem = _name_problem(column)
            if problem:
                raise Refused(f"cells: {problem}")
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise Refused(f"column {column}: expected a category id or path, got {value!r}")
            out[column] = self._category(column, str(value).strip(), f"column {column}")
        return out

    # -- taxonomy search ---------------------------------------------------------------------------

    def search(self, column: str, text: str, limit: int = SEARCH_LIMIT) -> list[dict[str, str]]:
        """Up to `limit` categories of `column` whose path holds every word of `text` (or whose id
        is `text`): the id itself first, then those whose last level starts with it, then the
        shortest paths. A shop column searches its tree."""
        limit = min(max(limit, 1), MAX_SEARCH_LIMIT)
        if self._is_shop(column):
            tree = self._tree(column)
            entries = {str(c): tree.path(c) for c in tree.names
                       if tree.root is None or tree.root in tree.ancestors(c)}
            return taxonomy_search(Searchable(entries), text, limit)
        stamp = self.store.taxonomy_stamp(column)
        if stamp is None:
            raise RowNotFoundColumn(column)
        cached = _SEARCHABLE.get(column)
        if cached is None or cached[0] != stamp:
            cached = _SEARCHABLE[column] = (stamp, Searchable(self._taxonomy(column)))
        return taxonomy_search(cached[1], text, limit)

    # -- unmapped, suggestions ---------------------------------------------------------------------

    def profile_target(self, profile_name: str) -> tuple[str, str]:
        """(connection, column) of an export profile with a category_column."""
        profile = self.config.profile(profile_name)
        column = profile.options.get("category_column") if profile.kind == "export" else None
        if column is None:
            raise Refused(f"{profile_name} has no category_column: set one (e.g. category_column = "
                          "\"google\") on the export profile")
        return profile.source, column

    def category_profiles(self) -> list[str]:
        """The export profiles that give products a platform category (the page's choices)."""
        return [p.name for p in self.config.profiles
                if p.kind == "export" and p.options.get("category_column")]

    def products_in(self, connection: str, id_category: int, limit: int = 200) -> list[dict[str, Any]]:
        """The products whose default category is `id_category` in `connection`'s shop."""
        self._connection(connection)
        with self._shop(connection) as shop:
            return [{"id_product": f.id_product, "reference": f.reference, "name": f.name}
                    for f in shop.iter_category_facts() if f.category == id_category][:limit]

    def accept(self, profile_name: str, pairs: Sequence[tuple[int, str]],
               actor: Actor | None = None) -> dict[str, int]:
        """Map each (shop category, platform category) of the profile's connection and column: in
        the category's own row when it has one, else a new row. Every pair is checked before any is
        written. Returns {"rows": written, "products": products that resolve now and did not}."""
        shop, column = self.profile_target(profile_name)
        checked = [(str(self._category(shop, str(c), f"category {c}")),
                    self._category(column, str(t).strip(), f"category {c} -> {t}")) for c, t in pairs]
        before = sum(u.products for u in self.unmapped(profile_name))
        rows, _ = self.store.rows()
        own = {r.cells[shop]: r for r in rows if shop in r.cells}
        for category, target in checked:
            row = own.get(category)
            cells = {**(row.cells if row else {shop: category}), column: target}
            self.store.write_row(row.id if row else None, cells, None, self.clock.now(), shop_columns=[shop])
        after = sum(u.products for u in self.unmapped(profile_name))
        self.audit.record(actor or cli_actor(), "categories.accept", f"profile:{profile_name}",
                          f"{plural(len(checked), 'category', 'categories')}: "
                          + ", ".join(f"{shop} {c} -> {column} {t}" for c, t in checked))
        return {"rows": len(checked), "products": before - after}

    def suggestions_json(self, profile_name: str, limit: int = 3) -> dict[str, Any]:
        shop, column = self.profile_target(profile_name)
        found: list[Suggestion] = self.suggest(column, shop, limit)
        return {"profile": profile_name, "connection": shop, "column": column,
                "suggestions": [{**s.category.as_json(), "candidates": [
                    {"id": i, "path": p, "score": score} for i, p, score in s.candidates]} for s in found]}

    def unmapped_json(self, profile_name: str) -> list[dict[str, Any]]:
        found: list[Unmapped] = self.unmapped(profile_name)
        return [u.as_json() for u in found]

    # -- CSV ---------------------------------------------------------------------------------------

    def export_text(self) -> str:
        out = io.StringIO()
        self.export_csv(out)
        return out.getvalue()

    def import_text(self, text: str, name: str = "upload", actor: Actor | None = None) -> int:
        """Replace the table by the CSV `text`'s, all or nothing: ImportRefused lists every bad line."""
        errors: list[str] = []
        reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise ImportRefused([f"{name} line 1: no header (the mapping's column names, e.g. "
                                 "demo_shop,google)"])
        columns = self._header(header, name)
        rows: list[dict[str, str]] = []
        seen: dict[tuple[str, str], int] = {}
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                errors.append(f"{name} line {line}: {len(cells)} cells, the header has {len(header)}")
                continue
            row = self._import_row(cells, columns, f"{name} line {line}", seen, line, errors)
            if row:
                rows.append(row)
            if len(errors) >= MAX_ERRORS:
                break
        if errors:
            raise ImportRefused(errors)
        self.store.replace_mapping(rows, [c for _, c in columns], self.clock.now())
        self._imported(rows, name, actor)
        return len(rows)

    def _import_row(self, cells: list[str], columns: list[tuple[int, str]], where: str,
                    seen: dict[tuple[str, str], int], line: int, errors: list[str]) -> dict[str, str]:
        row = {}
        for index, column in columns:
            cell = cells[index].strip()
            if not cell:
                continue
            try:
                category = self._category(column, cell, f"{where}, column {column}")
            except Refused as exc:
                errors.append(str(exc))
                continue
            if self._is_shop(column):
                if (column, category) in seen:
                    errors.append(f"{where}, column {column}: category {category} is mapped on line "
                                  f"{seen[column, category]} already (a shop category goes to one row)")
                    continue
                seen[column, category] = line
            row[column] = category
        return row

    # -- rules and overrides -----------------------------------------------------------------------

    def rules(self) -> list[dict[str, Any]]:
        """Every rule in the order they are tried: the config file's [[category_rules]] (`source`
        "config", edited in the file), then the page's ("page"); each with its category's path
        and, when its category is not in the loaded taxonomy, the problem an export stops on."""
        config = list(self.config.category_rules)
        out = []
        for source, rule in [*(("config", r) for r in config),
                             *(("page", r) for r in self.store.rules(first=len(config) + 1))]:
            taxonomy = self._taxonomy(rule.column)
            problem = None
            if taxonomy and rule.category not in taxonomy:
                problem = (f"category_rules[{rule.index - 1}].category: {rule.category!r} is not a "
                           f"{rule.column} category (not in its loaded taxonomy)")
            criteria = {k: getattr(rule, k) for k in CRITERIA if getattr(rule, k) is not None}
            out.append({"index": rule.index, "source": source, "column": rule.column,
                        "category": rule.category, "path": taxonomy.get(rule.category), "criteria": criteria,
                        "problem": problem})
        return out

    def put_rules(self, items: Any, actor: Actor | None = None) -> list[dict[str, Any]]:
        """The page's rules become `items` ([{column, category, criteria...}], in order), each
        checked as a [[category_rules]] entry of the config file is, its category as a mapping
        cell is (an id or path of the column's taxonomy). All or nothing."""
        if not isinstance(items, list):
            raise Refused("rules: expected a list of rules")
        try:
            parsed = loader.category_rules(items, self.config.connections)
        except ConfigError as exc:
            raise Refused(f"{exc.key}: {exc.reason}" if exc.key else exc.reason) from None
        checked = [replace(rule, category=self._category(rule.column, rule.category,
                                                         f"category_rules[{n}].category"))
                   for n, rule in enumerate(parsed)]
        self.store.replace_rules(checked, self.clock.now())
        self.audit.record(actor or cli_actor(), "categories.rules", "categories",
                          plural(len(checked), "page rule") + "".join(
                              f"{'; ' if n else ': '}{r.column} {r.category}" for n, r in enumerate(checked)))
        return [r for r in self.rules() if r["source"] == "page"]

    def overrides(self) -> list[dict[str, Any]]:
        return [{"connection": shop, "id_product": product, "column": column, "category": ident,
                 "path": self._path(column, ident) or None}
                for shop, product, column, ident, _ in self.store.all_overrides()]

    def path_of(self, column: str, ident: str) -> str | None:
        return self._path(column, ident) or None

    def taxonomy_of(self, column: str) -> dict[str, str]:
        return self._taxonomy(column)

    def shop_columns(self) -> list[str]:
        return [n for n, c in self.config.connections.items() if c.type == "prestashop"]


class RowNotFoundColumn(Refused):
    def __init__(self, column: str):
        super().__init__(f"no column {column!r} in the mapping table")


class Searchable:
    """A taxonomy (id -> path) lower-cased once for the type-ahead."""

    def __init__(self, entries: Mapping[str, str]):
        self.rows = [(ident, path, ident.lower(), path.lower(),
                      path.lower().rsplit(taxonomies.SEPARATOR.strip(), 1)[-1].strip())
                     for ident, path in entries.items()]


# column -> (its taxonomy's stamp, its Searchable): the web process keeps each taxonomy lower-cased
# while its stamp (load time, file, version) stays the same, so a keystroke reads one small row
_SEARCHABLE: dict[str, tuple[tuple, Searchable]] = {}


def taxonomy_search(entries: Searchable, text: str, limit: int) -> list[dict[str, str]]:
    """The search behind the type-ahead: every word of `text` in the path, or `text` the id."""
    wanted = text.strip().lower()
    words = [w for w in wanted.replace(">", " ").split() if w]
    if not words:
        return []
    found = []
    for ident, path, low_id, low, leaf in entries.rows:
        if low_id == wanted:
            found.append((0, len(path), ident, path))
        elif all(w in low for w in words):
            found.append((1 if leaf.startswith(words[0]) else 2, len(path), ident, path))
    found.sort()
    return [{"id": ident, "path": path} for _, _, ident, path in found[:limit]]


def _name_problem(column: str) -> str | None:
    if not taxonomies.COLUMN_NAME.fullmatch(column or ""):
        return f"invalid column name {column!r} (letters, digits, _ . - only)"
    return None


__all__ = ["CategoryTable", "ImportRefused", "PATH_SUFFIX", "RowNotFound", "taxonomy_search"]
