"""The category mapping's verbs (docs/categories.md), for every front door: load a taxonomy, export
and import the mapping table as CSV, set and unset per-product overrides, list unmapped shop
categories, suggest mappings.

Everything written is checked first: a shop category must exist in its connection's shop, a
platform category in its column's taxonomy (when one is loaded); a path is resolved to its id. A
file with one bad cell changes nothing, and the error names the file, line, column and value.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from connectors.platform import taxonomy as taxonomies
from connectors.prestashop import PrestaShop
from connectors.prestashop.categories import CategoryTree, ProductFacts
from core.actor import Actor, cli_actor
from core.clock import Clock
from core.config import Config
from core.errors import Refused
from heartbeat.services import suggestions
from heartbeat.services.audit import AuditTrail
from profiles.category_mapping import CategoryResolver, Unmapped, unmapped
from reports.action_log import plural
from tasks.store import TaskStore

PATH_SUFFIX = " path"  # an exported column "google path": read back, it is ignored
SCORE = "# score"  # a suggestion's score column: ignored on import too
SAMPLE_TAXONOMY = Path(taxonomies.__file__).with_name("taxonomies") / "google-sample.en-US.txt"


@dataclass(frozen=True)
class Suggestion:
    """Candidate platform categories for an unmapped shop category, best first: (id, path, score)."""

    category: Unmapped
    candidates: list[tuple[str, str, float]]


class CategoryManager:
    def __init__(self, config: Config, store: TaskStore, clock: Clock | None = None):
        self.config = config
        self.store = store.categories
        self.clock = clock or Clock()
        self.audit = AuditTrail(store.audit, self.clock)  # each change below is recorded, by `actor`
        self._trees: dict[str, CategoryTree] = {}
        self._taxonomies: dict[str, dict[str, str]] = {}

    # -- columns and taxonomies ------------------------------------------------------------------------

    def columns(self) -> list[dict[str, Any]]:
        """Every column: its name, whether it is a shop connection, its taxonomy, its mapped cells."""
        counts: dict[str, int] = {}
        for row in self.store.mapping():
            for column in row:
                counts[column] = counts.get(column, 0) + 1
        return [{"name": c.name, "kind": "shop" if self._is_shop(c.name) else "platform",
                 "taxonomy": c.entries or None, "taxonomy_file": c.taxonomy_file,
                 "taxonomy_version": c.taxonomy_version, "mapped": counts.get(c.name, 0)}
                for c in self.store.columns()]

    def _known_column(self, column: str) -> None:
        """Refuse a column that does not exist yet, listing those that do."""
        known = [c.name for c in self.store.columns() if not self._is_shop(c.name)]
        if column not in known:
            listed = ", ".join(known) if known else "none yet"
            raise Refused(f"no column {column!r} (known: {listed}); create it with "
                          f"`heartbeat categories columns add {column}`")

    def load_taxonomy(self, column: str, path: str | Path, actor: Actor | None = None) -> taxonomies.Taxonomy:
        """Replace `column`'s taxonomy by the file's. Refused when the mapping table or a page's rule
        uses a category the new taxonomy lacks (fix those first), or when `column` is a shop's."""
        _check_name(column)
        if self._is_shop(column):
            raise Refused(f"{column} is a prestashop connection: its categories are the shop's own")
        parsed = taxonomies.read(Path(path))
        ids = {ident for ident, _ in parsed.entries}
        used = [row[column] for row in self.store.mapping() if column in row]
        used += [rule.category for rule in self.store.rules() if rule.column == column]
        missing = [c for c in used if c not in ids]
        if missing:
            raise Refused(f"{path}: {plural(len(missing), column + ' category', column + ' categories')} of "
                          f"the mapping table not in it (first: {missing[0]}); map them anew, then load it")
        self.store.load_taxonomy(column, parsed.entries, str(path), parsed.version, self.clock.now())
        self.audit.record(actor or cli_actor(), "categories.taxonomy", f"column:{column}",
                          f"{plural(len(parsed.entries), 'category', 'categories')} from {Path(path).name}")
        return parsed

    def add_column(self, name: str, actor: Actor | None = None) -> dict[str, Any]:
        """A new, empty column (a platform to map to); refused when it exists. Returns it as
        `columns` lists it."""
        _check_name(name)
        if any(c.name == name for c in self.store.columns()):
            raise Refused(f"column {name} exists already")
        self.store.add_column(name, self.clock.now())
        self.audit.record(actor or cli_actor(), "categories.column", f"column:{name}", "added")
        return next(c for c in self.columns() if c["name"] == name)

    # -- the mapping table -----------------------------------------------------------------------------

    def export_csv(self, out: IO[str], extra: Sequence[dict[str, str]] = ()) -> int:
        """Write the mapping table (then `extra` rows) as CSV: one column of ids per mapping
        column, then the same columns' paths ("google path"), ignored when read back. Returns the
        number of rows written."""
        rows = [*self.store.mapping(), *extra]
        columns = list(dict.fromkeys([*(c.name for c in self.store.columns()),
                                      *(c for row in extra for c in row if c != SCORE)]))
        scored = any(SCORE in row for row in rows)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*columns, *(c + PATH_SUFFIX for c in columns), *([SCORE] if scored else [])])
        for row in rows:
            writer.writerow([*(row.get(c, "") for c in columns),
                             *(self._path(c, row[c]) if c in row else "" for c in columns),
                             *([row.get(SCORE, "")] if scored else [])])
        return len(rows)

    def import_csv(self, path: str | Path, actor: Actor | None = None) -> int:
        """Replace the mapping table by the CSV file's (all or nothing); returns its row count."""
        name = str(path)
        try:
            text = Path(path).read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise Refused(f"{name}: cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise Refused(f"{name}: not UTF-8 text (bad byte at offset {exc.start})") from None
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise Refused(f"{name} line 1: no header (the mapping's column names, e.g. demo_shop,google)")
        columns = self._header(header, name)
        rows: list[dict[str, str]] = []
        seen: dict[tuple[str, str], int] = {}
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise Refused(f"{name} line {line}: {len(cells)} cells, the header has {len(header)}")
            row = {}
            for index, column in columns:
                cell = cells[index].strip()
                if not cell:
                    continue
                category = self._category(column, cell, f"{name} line {line}, column {column}")
                if self._is_shop(column):
                    if (column, category) in seen:
                        raise Refused(f"{name} line {line}, column {column}: category {category} is mapped "
                                      f"on line {seen[column, category]} already (a shop category goes to "
                                      "one row)")
                    seen[column, category] = line
                row[column] = category
            if row:
                rows.append(row)
        self.store.replace_mapping(rows, [c for _, c in columns], self.clock.now())
        self._imported(rows, name, actor)
        return len(rows)

    def _imported(self, rows: Sequence[dict[str, str]], name: str, actor: Actor | None) -> None:
        """The audit entry of a CSV import that replaced the table by `rows` (from `name`)."""
        self.audit.record(actor or cli_actor(), "categories.import", "categories",
                          f"{plural(len(rows), 'row')} from {name}")

    # -- per-product overrides -------------------------------------------------------------------------

    def set_override(self, id_product: int, column: str, category: str, connection: str | None = None,
                     actor: Actor | None = None) -> str:
        """Product `id_product` of the shop goes to `category` (an id or path) of `column`; returns the id."""
        _check_name(column)
        shop = self._connection(connection)
        if self._is_shop(column):
            raise Refused(f"{column} is a prestashop connection; name a platform's column (e.g. google)")
        self._known_column(column)
        with self._shop(shop) as reader:
            found = reader.existing([id_product])
        if id_product not in found:
            raise Refused(f"no product {id_product} in {shop}")
        ident = self._category(column, category.strip(), f"column {column}")
        self.store.set_override(shop, id_product, column, ident, self.clock.now())
        self.audit.record(actor or cli_actor(), "categories.set", f"product:{id_product}",
                          f"{column} {ident} ({shop})")
        return ident

    def unset_override(self, id_product: int, column: str, connection: str | None = None,
                       actor: Actor | None = None) -> None:
        shop = self._connection(connection)
        if not self.store.unset_override(shop, id_product, column):
            raise Refused(f"product {id_product} of {shop} has no {column} override")
        self.audit.record(actor or cli_actor(), "categories.unset", f"product:{id_product}",
                          f"{column} ({shop})")

    # -- what is left to map ---------------------------------------------------------------------------

    def unmapped(self, profile_name: str) -> list[Unmapped]:
        """The shop categories whose products an export profile cannot give a category, most
        products first (docs/categories.md)."""
        profile = self.config.profile(profile_name)
        column = profile.options.get("category_column") if profile.kind == "export" else None
        if column is None:
            raise Refused(f"{profile_name} has no category_column: set one (e.g. category_column = "
                          "\"google\") on the export profile")
        resolver = self._resolver(profile.source, column)
        with self._shop(profile.source) as shop:
            return unmapped(resolver, shop.iter_category_facts())

    def suggest(self, column: str, connection: str | None = None, limit: int = 3) -> list[Suggestion]:
        """For each shop category whose products map to nothing in `column` by the table, the
        `limit` taxonomy entries that fit best, by the words of its whole path and of its
        products' names (heartbeat.services.suggestions, 0-100). Nothing is written."""
        shop = self._connection(connection)
        taxonomy = self.store.taxonomy(column)
        if not taxonomy:
            raise Refused(f"no taxonomy loaded for {column}: load one with `heartbeat categories taxonomy "
                          f"load {column} FILE` (a sample: {SAMPLE_TAXONOMY})")
        resolver = replace(self._resolver(shop, column), rules=(), overrides={})  # the table alone
        names: dict[int, list[str]] = {}
        with self._shop(shop) as reader:
            left = unmapped(resolver, _recording(reader.iter_category_facts(), resolver.tree, names))
        index = suggestions.index(column, taxonomy)
        return [Suggestion(c, suggestions.rank(index, c.path, names.get(c.id_category, ()), limit))
                for c in left if c.id_category]

    def suggestion_rows(self, suggestions: Iterable[Suggestion], column: str,
                        connection: str | None = None) -> list[dict[str, str]]:
        """The best candidate of each suggestion as a mapping row (with its score), to append to
        the exported table for review."""
        shop = self._connection(connection)
        return [{shop: str(s.category.id_category), column: s.candidates[0][0],
                 SCORE: str(s.candidates[0][2])} for s in suggestions if s.candidates]

    # -- helpers ---------------------------------------------------------------------------------------

    def _resolver(self, connection: str, column: str) -> CategoryResolver:
        return CategoryResolver.load(self.store, self._tree(connection), connection, column,
                                     self.config.category_rules)

    def _header(self, header: list[str], name: str) -> list[tuple[int, str]]:
        columns, seen = [], set()
        for index, raw in enumerate(header):
            column = raw.strip()
            if column.endswith(PATH_SUFFIX) or column.startswith("#"):
                continue  # an exported path column, a score: for the reader
            problem = _name_problem(column)
            if problem:
                raise Refused(f"{name} line 1, column {index + 1}: {problem}")
            if column in seen:
                raise Refused(f"{name} line 1: column {column} twice")
            seen.add(column)
            columns.append((index, column))
        if not columns:
            raise Refused(f"{name} line 1: no mapping column in the header")
        return columns

    def _category(self, column: str, cell: str, where: str) -> str:
        """The id `cell` names in `column` (an id or a full path), or Refused naming `where`."""
        if self._is_shop(column):
            tree = self._tree(column)
            if cell.isdigit():
                if int(cell) in tree:
                    return str(int(cell))
                raise Refused(f"{where}: unknown category {cell!r} (no category {cell} in shop {column})")
            found = tree.find(cell)
            if found is None:
                raise Refused(f"{where}: unknown category {cell!r} (no such path in shop {column})")
            return str(found)
        taxonomy = self._taxonomy(column)
        if cell in taxonomy:
            return cell
        if taxonomy:
            wanted = taxonomies.normal_path(cell)
            found = next((ident for ident, path in taxonomy.items() if path == wanted), None)
            if found is None:
                raise Refused(f"{where}: unknown category {cell!r} "
                              f"(not an id or path of the {column} taxonomy)")
            return found
        if taxonomies.SEPARATOR.strip() in cell or not taxonomies.CATEGORY_ID.fullmatch(cell):
            raise Refused(f"{where}: {cell!r} is not a category id, and no {column} taxonomy is loaded to "
                          f"find a path in (`heartbeat categories taxonomy load {column} FILE`)")
        return cell

    def _taxonomy(self, column: str) -> dict[str, str]:
        if column not in self._taxonomies:
            self._taxonomies[column] = self.store.taxonomy(column)
        return self._taxonomies[column]

    def _path(self, column: str, ident: str) -> str:
        if self._is_shop(column):
            return self._tree(column).path(int(ident)) if ident.isdigit() else ""
        return self._taxonomy(column).get(ident, "")

    def _is_shop(self, column: str) -> bool:
        conn = self.config.connections.get(column)
        return conn is not None and conn.type == "prestashop"

    def _connection(self, name: str | None) -> str:
        shops = [n for n, c in self.config.connections.items() if c.type == "prestashop"]
        if name is None:
            if len(shops) != 1:
                raise Refused(f"pass --connection: the config has {len(shops)} prestashop connections "
                              f"({', '.join(shops) or 'none'})")
            return shops[0]
        if name not in shops:
            raise Refused(f"no prestashop connection named {name!r}; known: {', '.join(shops) or 'none'}")
        return name

    def _shop(self, connection: str) -> PrestaShop:
        return PrestaShop.from_connection(self.config.connections[connection])

    def _tree(self, connection: str) -> CategoryTree:
        if connection not in self._trees:
            with self._shop(connection) as shop:
                self._trees[connection] = shop.category_tree()
        return self._trees[connection]


def cells_text(cells: dict[str, str]) -> str:
    """A mapping row's cells for the audit trail, by column name: "google 5181, shop 6" ("no cells"
    when removed)."""
    return ", ".join(f"{column} {cells[column]}" for column in sorted(cells)) or "no cells"


def _recording(facts: Iterable[ProductFacts], tree: CategoryTree, names: dict[int, list[str]],
               most: int = 200) -> Iterable[ProductFacts]:
    """`facts` as they are, noting on the way up to `most` product names per category, a
    product counting in its default category's whole branch (a parent's words are its children's)."""
    for fact in facts:
        for category in tree.ancestors(fact.category) if fact.category else ():
            bucket = names.setdefault(category, [])
            if len(bucket) < most:
                bucket.append(fact.name)
        yield fact


def _name_problem(column: str) -> str | None:
    if not column:
        return "empty column name"
    if not taxonomies.COLUMN_NAME.fullmatch(column):
        return f"invalid column name {column!r} (letters, digits, _ . - only)"
    return None


def _check_name(column: str) -> None:
    problem = _name_problem(column)
    if problem:
        raise Refused(problem)
