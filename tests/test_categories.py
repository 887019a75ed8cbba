"""Category mapping (docs/categories.md): taxonomies, the mapping table in CSV, inheritance down a
branch, rule order, overrides, "category is mandatory", change tracking, multistore. Every database
test runs on SQLite and MariaDB, with the demo shop's deeper tree."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from connectors.platform import taxonomy
from connectors.platform.export_format import load_schema
from connectors.prestashop import PrestaShop, create_demo_shop
from connectors.prestashop.demo import SUBCATEGORIES
from core.config import CategoryRule
from heartbeat.cli.main import cli
from heartbeat.services.categories import SAMPLE_TAXONOMY
from reports import export_file
from tests.helpers import execute, make_config, make_heartbeat, raw

PRODUCTS = 200
GOOGLE = """# Google_Product_Taxonomy_Version: 2021-09-21
1 - Animals & Pet Supplies
166 - Apparel & Accessories
1604 - Apparel & Accessories > Clothing
187 - Apparel & Accessories > Shoes
536 - Home & Garden
988 - Sporting Goods
499713 - Sporting Goods > Athletics
222 - Electronics
278 - Electronics > Computers
328 - Electronics > Computers > Laptops
"""


# -- taxonomy files ---------------------------------------------------------------------------------


def test_googles_file_is_read_with_its_version_and_ids():
    parsed = taxonomy.parse(GOOGLE, "t.txt")
    assert parsed.format == "google" and parsed.version == "2021-09-21"
    assert parsed.entries[2] == ("1604", "Apparel & Accessories > Clothing") and len(parsed.entries) == 10


def test_the_shipped_sample_is_googles_format():
    parsed = taxonomy.read(SAMPLE_TAXONOMY)
    assert parsed.format == "google" and parsed.version == "2021-09-21"
    ids = dict(parsed.entries)
    assert ids["1604"] == "Apparel & Accessories > Clothing"
    assert ids["328"] == "Electronics > Computers > Laptops"


def test_a_csv_taxonomy_with_or_without_header():
    assert taxonomy.parse("id,path\nMLA1,Ropa > Hombre\n", "t.csv").entries == [("MLA1", "Ropa > Hombre")]
    assert taxonomy.parse("MLA1,Ropa>Hombre\n", "t.csv").entries == [("MLA1", "Ropa > Hombre")]


@pytest.mark.parametrize("text, message", [
    ("# Google_Product_Taxonomy_Version: 1\n1 - A\n1 - B\n", "t.txt line 3: category id 1 already on line 2"),
    ("# Google_Product_Taxonomy_Version: 1\n1 - A\nnonsense\n",
     "t.txt line 3: expected 'ID - Level > Level'"),
    ("1,A > > B\n", "t.txt line 1: category 1 has an empty level"),
    ("1,A,extra\n", "t.txt line 1: expected 2 cells (id, path), got 3"),
    ("id,path\n", "t.txt: no categories in the file"),
])
def test_a_bad_taxonomy_line_is_named(text, message):
    with pytest.raises(taxonomy.TaxonomyError) as err:
        taxonomy.parse(text, "t.txt")
    assert str(err.value).startswith(message)


# -- the demo shop's tree, as PrestaShop stores it -------------------------------------------------------


def test_the_demo_tree_is_a_valid_nested_set_and_products_sit_in_their_branches(demo_url):
    rows = raw(demo_url, "SELECT id_category, id_parent, level_depth, nleft, nright FROM ps_category")
    by_id = {r.id_category: r for r in rows}
    for r in rows:
        assert r.nleft < r.nright
        if r.id_parent:
            parent = by_id[r.id_parent]
            assert parent.nleft < r.nleft and r.nright < parent.nright
            assert r.level_depth == parent.level_depth + 1
    assert max(r.level_depth for r in rows) == 4  # Root > Home > Electronics > Computers > Laptops
    assert sorted(b for r in rows for b in (r.nleft, r.nright)) == list(range(1, 2 * len(rows) + 1))
    # a product of a subcategory is linked to it, its parents and Home; positions are unique per category
    in_laptops = raw(demo_url, "SELECT id_product FROM ps_product_shop WHERE id_category_default = 30")
    assert in_laptops
    linked = {c for (c,) in raw(demo_url, "SELECT id_category FROM ps_category_product WHERE id_product = :p",
                                p=in_laptops[0][0])}
    assert linked == {2, 16, 29, 30}
    assert raw(demo_url, "SELECT id_category, position FROM ps_category_product "
                         "GROUP BY id_category, position HAVING COUNT(*) > 1") == []
    assert {r.id_category for r in rows} >= {sub for sub, _, _ in SUBCATEGORIES}


# -- the CLI over a real state database and shop ------------------------------------------------------


def write_config(tmp_path: Path, state_url: str, shop_url: str, *, required: bool = True,
                 rules: str = "", second_shop: bool = False) -> Path:
    path = tmp_path / "heartbeat.toml"
    shop2 = f"""
[connections.shop2]
type = "prestashop"
url = "{shop_url}"
id_shop = 2
""" if second_shop else ""
    path.write_text(f"""
[heartbeat]
data_dir = "data"

[database]
url = "{state_url}"

[connections.shop]
type = "prestashop"
url = "{shop_url}"
{shop2}
[[profiles]]
name = "feed"
kind = "export"
source = "shop"
batch_size = 50
category_column = "google"
category_required = {'true' if required else 'false'}
{rules}""")
    return path


@pytest.fixture
def hb(tmp_path, db_url, shop_url, request):
    """`heartbeat --config <config> ARGS...` on a demo shop; `hb.config(**kw)` rewrites the config."""
    create_demo_shop(shop_url, products=PRODUCTS)
    runner = CliRunner()
    state = {"path": write_config(tmp_path, db_url, shop_url)}

    def invoke(*args, ok=True):
        result = runner.invoke(cli, ["--config", str(state["path"]), *map(str, args)], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    invoke.config = lambda **kw: state.update(path=write_config(tmp_path, db_url, shop_url, **kw))
    invoke.tmp, invoke.shop_url, invoke.state_url = tmp_path, shop_url, db_url
    (tmp_path / "google.txt").write_text(GOOGLE)
    invoke("categories", "taxonomy", "load", "google", tmp_path / "google.txt")
    return invoke


def defaults(shop_url: str) -> dict[int, int]:
    return dict(raw(shop_url, "SELECT id_product, id_category_default FROM ps_product_shop "
                              "WHERE id_shop = 1"))


def mapping_file(hb, text: str, name: str = "map.csv") -> Path:
    path = hb.tmp / name
    path.write_text(text)
    return path


def export(hb, *args) -> tuple[dict, dict[int, dict], dict[int, tuple[str, str]]]:
    """Run the profile now; (task json, exported products by id, item outcomes by product)."""
    tid = int(hb("profiles", "run", "feed", *args).output.split()[-1])
    hb("tick", "--until-idle")
    task = json.loads(hb("tasks", "show", tid, "--json").output)
    document = json.loads(hb("tasks", "export-file", tid).output)
    jsonschema.Draft202012Validator(load_schema()).validate(document)
    report = list(csv.reader(io.StringIO(hb("tasks", "report", tid).output)))[1:]
    outcomes = {int(row[1]): (row[5], row[7]) for row in report}
    return task, {p["id_product"]: p for p in document["products"]}, outcomes


def test_import_resolves_paths_to_ids_and_export_round_trips(hb):
    hb("categories", "import", mapping_file(hb, "shop,google\n3,Apparel & Accessories > Clothing\n"
                                                "Sports > Running,499713\nHome > Shoes,187\n"))
    exported = hb("categories", "export").output
    assert exported.splitlines() == [
        "google,shop,google path,shop path",
        "1604,3,Apparel & Accessories > Clothing,Home > Men's clothing",
        "499713,25,Sporting Goods > Athletics,Home > Sports > Running",
        "187,5,Apparel & Accessories > Shoes,Home > Shoes",
    ]
    hb("categories", "import", mapping_file(hb, exported, "again.csv"))
    assert hb("categories", "export").output == exported


@pytest.mark.parametrize("cell, why", [
    ("424242", "unknown category '424242' (not an id or path of the google taxonomy)"),
    ("Apparel > Nowhere", "unknown category 'Apparel > Nowhere' (not an id or path of the google taxonomy)"),
])
def test_an_unknown_target_refuses_the_whole_file(hb, cell, why):
    hb("categories", "import", mapping_file(hb, "shop,google\n3,1604\n"))
    before = hb("categories", "export").output
    bad = mapping_file(hb, f"shop,google\n5,187\n6,{cell}\n", "bad.csv")
    result = hb("categories", "import", bad, ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip() == f"heartbeat: {bad} line 3, column google: {why}"
    assert hb("categories", "export").output == before  # all or nothing


def test_a_shop_category_goes_to_one_row_and_must_exist(hb):
    twice = mapping_file(hb, "shop,google\n3,1604\n3,187\n")
    assert "line 3, column shop: category 3 is mapped on line 2 already" in hb(
        "categories", "import", twice, ok=False).output
    missing = mapping_file(hb, "shop,google\n999,1604\n", "missing.csv")
    assert "unknown category '999' (no category 999 in shop shop)" in hb(
        "categories", "import", missing, ok=False).output


def test_a_taxonomy_that_drops_a_mapped_id_is_refused(hb):
    hb("categories", "import", mapping_file(hb, "shop,google\n3,1604\n"))
    (hb.tmp / "new.txt").write_text("# Google_Product_Taxonomy_Version: 2\n166 - Apparel & Accessories\n")
    result = hb("categories", "taxonomy", "load", "google", hb.tmp / "new.txt", ok=False)
    assert "1 google category of the mapping table not in it (first: 1604)" in result.output


def test_required_category_skips_with_the_seeds_reason_and_branches_inherit(hb):
    # Sports (14) is mapped; Running (25) and Trail running (27) inherit it; Cycling (26) too.
    # Electronics (16) is mapped and Computers (29) has a row of its own, which Laptops (30) inherits.
    hb("categories", "import", mapping_file(hb, "shop,google\n14,988\n16,222\n29,278\n"))
    task, products, outcomes = export(hb)
    cats = defaults(hb.shop_url)
    want = {14: "988", 25: "988", 26: "988", 27: "988", 16: "222", 28: "222", 29: "278", 30: "278"}
    assert {p: want[c] for p, c in cats.items() if c in want} == {
        p: e["platform_category"]["id"] for p, e in products.items()}
    assert {c for p, c in cats.items() if p in products} >= {25, 27, 30}  # the deeper ones are there
    laptop = next(e for p, e in products.items() if cats[p] == 30)
    assert laptop["platform_category"] == {"column": "google", "id": "278", "path": "Electronics > Computers"}
    skipped = [p for p, c in cats.items() if c not in want]
    assert task["progress"]["skipped"] == len(skipped) and task["progress"]["processed"] == len(products)
    some = next(p for p in skipped if cats[p] == 4)
    assert outcomes[some] == ("skipped", "category is mandatory: no google category for "
                                         "\"Home > Women's clothing\" (shop category 4)")
    unmapped = json.loads(hb("categories", "unmapped", "feed", "--json").output)
    assert {u["id_category"] for u in unmapped} == {cats[p] for p in skipped}
    assert [u["products"] for u in unmapped] == sorted((u["products"] for u in unmapped), reverse=True)
    women = next(u for u in unmapped if u["id_category"] == 4)
    assert women == {"id_category": 4, "path": "Home > Women's clothing",
                     "products": sum(1 for c in cats.values() if c == 4)}


def test_optional_category_exports_null(hb):
    hb.config(required=False)
    hb("categories", "import", mapping_file(hb, "shop,google\n3,1604\n"))
    task, products, _ = export(hb)
    assert task["progress"]["processed"] == PRODUCTS
    cats = defaults(hb.shop_url)
    assert {p for p, e in products.items() if e["platform_category"] is None} == {
        p for p, c in cats.items() if c != 3}


def test_overrides_beat_rules_which_beat_the_table_in_file_order(hb):
    cats = defaults(hb.shop_url)
    rules = """
[[category_rules]]
column = "google"
category = "187"
reference_prefix = "demo-00000"

[[category_rules]]
column = "google"
category = "536"
shop_category = 10

[[category_rules]]
column = "google"
category = "1"
reference_prefix = "DEMO-"
"""
    hb.config(rules=rules)
    hb("categories", "import", mapping_file(hb, "shop,google\n3,1604\n"))
    kitchen = next(p for p, c in cats.items() if c in (23, 24) and p >= 10)  # under Kitchen (10)
    hb("categories", "set", kitchen, "google", "Electronics > Computers > Laptops")
    _, products, _ = export(hb)
    got = {p: e["platform_category"]["id"] for p, e in products.items()}
    assert all(got[p] == "187" for p in range(1, 10))  # rule 1, case-insensitive prefix
    assert got[kitchen] == "328"  # the override
    assert all(got[p] == "536" for p, c in cats.items() if p >= 10 and p != kitchen and c in (10, 23, 24))
    assert all(got[p] == "1" for p, c in cats.items() if p >= 10 and c not in (10, 23, 24))  # rule 3 > table
    hb("categories", "unset", kitchen, "google")
    assert "has no google override" in hb("categories", "unset", kitchen, "google", ok=False).output


def test_a_mapping_change_re_exports_the_products_it_moves(hb):
    hb.config(required=False)
    hb("categories", "import", mapping_file(hb, "shop,google\n3,1604\n"))
    first, _, _ = export(hb)
    hb("categories", "import", mapping_file(hb, "shop,google\n3,166\n", "moved.csv"))
    task, products, outcomes = export(hb)
    moved = {p for p, c in defaults(hb.shop_url).items() if c == 3}
    assert set(products) == moved and task["progress"]["processed"] == len(moved)
    assert {outcomes[p] for p in moved} == {("processed", f"changed since task #{first['id']}: "
                                                          "platform_category")}


def test_suggestions_rank_names_and_write_nothing(hb):
    hb("categories", "taxonomy", "load", "google", SAMPLE_TAXONOMY)
    before = hb("categories", "export").output
    text = hb("categories", "suggest", "google", "--limit", "2").output
    assert "'Home > Laptops'" not in text and "'Home > Electronics > Computers > Laptops'" in text
    laptops = text.split("'Home > Electronics > Computers > Laptops'")[1].splitlines()[1]
    assert laptops.split()[1:] == ["328", "Electronics", ">", "Computers", ">", "Laptops"]
    table = hb("categories", "suggest", "google", "--csv").output.splitlines()
    assert table[0] == "google,shop,google path,shop path,# score"
    suggested = "328,30,Electronics > Computers > Laptops,Home > Electronics > Computers > Laptops,"
    assert any(row.startswith(suggested) for row in table)
    assert hb("categories", "export").output == before


def test_a_tree_and_its_mapping_are_per_shop(hb):
    # shop 2 of the same database uses part of the tree, under names of its own
    renamed = "'Outlet ' || name" if hb.shop_url.startswith("sqlite") else "CONCAT('Outlet ', name)"
    execute(hb.shop_url,
            "INSERT INTO ps_shop (id_shop, id_shop_group, name, id_category, theme_name) "
            "VALUES (2, 1, 'Outlet', 2, 'classic')",
            "INSERT INTO ps_category_shop (id_category, id_shop, position) "
            "SELECT id_category, 2, position FROM ps_category_shop "
            "WHERE id_shop = 1 AND id_category IN (1, 2, 3, 4)",
            "INSERT INTO ps_category_lang (id_category, id_shop, id_lang, name, description, link_rewrite) "
            f"SELECT id_category, 2, id_lang, {renamed}, description, link_rewrite "
            "FROM ps_category_lang WHERE id_shop = 1 AND id_category IN (1, 2, 3, 4)")
    hb.config(second_shop=True)
    with PrestaShop(hb.shop_url, id_shop=2) as shop2:
        tree = shop2.category_tree()
    assert set(tree.names) == {1, 2, 3, 4} and tree.path(3) == "Outlet Home > Outlet Men's clothing"
    hb("categories", "import", mapping_file(hb, "shop,shop2,google\n3,,1604\n,Outlet Men's clothing,187\n"))
    refused = hb("categories", "import", mapping_file(hb, "shop2,google\n5,1\n", "x.csv"), ok=False)
    assert "no category 5 in shop shop2" in refused.output
    rows = hb("categories", "export").output.splitlines()
    assert rows[1:3] == ["1604,3,,Apparel & Accessories > Clothing,Home > Men's clothing,",
                         "187,,3,Apparel & Accessories > Shoes,,Outlet Home > Outlet Men's clothing"]


# -- config ---------------------------------------------------------------------------------------


def test_rules_need_a_criterion_and_required_needs_a_column(tmp_path):
    from core.errors import ConfigError
    from heartbeat.config import loader as config

    base = '[connections.s]\ntype = "prestashop"\nurl = "sqlite:///s.db"\n'
    (tmp_path / "a.toml").write_text(base + '[[category_rules]]\ncolumn = "google"\ncategory = "1"\n')
    with pytest.raises(ConfigError, match=r"category_rules\[0\]: a rule needs at least one criterion"):
        config.load(tmp_path / "a.toml")
    (tmp_path / "b.toml").write_text(base + '[[profiles]]\nname = "x"\nkind = "export"\nsource = "s"\n'
                                            "category_required = true\n")
    with pytest.raises(ConfigError, match="category_required: needs category_column"):
        config.load(tmp_path / "b.toml")
    (tmp_path / "c.toml").write_text(base + '[[category_rules]]\ncolumn = "google"\ncategory = "1"\n'
                                            'name_contains = "mug"\nshop_category = 3\n')
    assert config.load(tmp_path / "c.toml").category_rules == (
        CategoryRule(index=1, column="google", category="1", name_contains="mug", shop_category=3),)


def test_the_export_file_of_a_profile_without_column_has_no_platform_category(tmp_path, db_url, shop_url,
                                                                              clock):
    create_demo_shop(shop_url, products=5)
    beat = make_heartbeat(make_config(tmp_path, db_url, shop_url), clock)
    task = beat.store.create(beat.config.profile("export-products"), "manual", clock.now(), clock.now())
    beat.run_until_idle()
    document = json.loads(b"".join(export_file.read(beat.store.get(task.id))))
    assert len(document["products"]) == 5 and all("platform_category" not in p for p in document["products"])


def test_columns_add_makes_an_empty_column_once(hb):
    assert hb("categories", "columns", "add", "mercadolibre").output == "column mercadolibre added\n"
    listed = json.loads(hb("categories", "columns", "--json").output)
    assert [(c["name"], c["kind"], c["mapped"]) for c in listed][-1] == ("mercadolibre", "platform", 0)
    again = hb("categories", "columns", "add", "mercadolibre", ok=False)
    assert again.exit_code == 1 and again.output == "heartbeat: column mercadolibre exists already\n"
    bad = hb("categories", "columns", "add", "a b", ok=False)
    assert bad.exit_code == 1 and "invalid column name 'a b'" in bad.output


def test_suggestions_rank_by_the_whole_path_and_the_products_words():
    from heartbeat.services import suggestions

    index = suggestions.Index.of(dict(taxonomy.read(SAMPLE_TAXONOMY).entries))
    # name similarity alone said "... > Colanders & Strainers"
    assert suggestions.rank(index, "Home > Stationery")[0][1] == "Office Supplies"
    assert suggestions.rank(index, "Home > Kitchen > Knives")[0][0] == "665"  # its parent says which knives
    # the products' words: a category named for nothing in the taxonomy, holding cushions
    assert "Cushions" in suggestions.rank(index, "Home > Cosy corner", ["Fox cushion", "Bear cushion"])[0][1]


def test_suggestions_precision_at_1_on_the_labelled_sample_is_what_the_docs_say():
    from heartbeat.services import suggestions

    index = suggestions.Index.of(dict(taxonomy.read(SAMPLE_TAXONOMY).entries))
    labels = json.loads((Path(__file__).parent.parent / "bench" / "category_labels.json").read_text())
    got = {part: suggestions.precision_at_1(index, [(e["path"], e.get("products", []), set(e["accept"]))
                                                    for e in labels[part]]) for part in ("fashion", "demo")}
    assert got == {"fashion": (3, 7), "demo": (25, 26)}  # docs/categories.md, "How good are the suggestions"
