"""Feeds: CSV and JSON product feeds from files and over HTTP, streamed, with one-line errors."""

from __future__ import annotations

import base64
import io
import json
import random
import socket
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.feeds import FIELDS, FeedRow, open_feed
from connectors.feeds.csv_feed import MAX_RECORD_CHARS, MAX_RECORD_LINES, detect_delimiter
from connectors.feeds.text import Line, physical_lines
from connectors.platform import export_format as fmt
from core.errors import ConnectorError
from tests.helpers import PRESTASHOP_PRODUCT_HEADERS, prestashop_row, write_csv

# The columns of PrestaShop's product import, as in its documented sample
# (docs/csv_import/products_import.csv, PrestaShop 1.7 to 8.x).
SAMPLE = Path(__file__).parent.parent / "connectors" / "feeds" / "samples" / "supplier-products.csv"


def rows_of(options: dict, name: str = "supplier") -> list[FeedRow]:
    return list(open_feed(options, name).rows())


def error_of(options: dict, name: str = "supplier") -> str:
    with pytest.raises(ConnectorError) as caught:
        list(open_feed(options, name).rows())
    return str(caught.value)


# -- CSV layouts ------------------------------------------------------------------------------


def test_prestashop_product_import_layout_needs_no_mapping(tmp_path):
    path = write_csv(tmp_path / "products.csv", [
        PRESTASHOP_PRODUCT_HEADERS,
        prestashop_row(**{"Product ID": "1", "Active (0/1)": "1", "Name *": "iPod Nano",
                          "Categories (x,y,z...)": "iPods", "Price tax excluded": "100",
                          "Wholesale price": "80", "Reference #": "RP-demo_1", "EAN13": "1234567890123",
                          "UPC": "012345678905", "MPN": "MPN-1", "Weight": "0.068357",
                          "Quantity": "160", "Summary": "<p>New design.</p>"}),
        prestashop_row(**{"Product ID": "2", "Active (0/1)": "0", "Name *": "iPod shuffle",
                          "Price tax excluded": "60", "Reference #": "RP-demo_2", "Quantity": "0"}),
    ])
    rows = rows_of({"path": str(path)})
    assert rows == [
        FeedRow(2, {"id_product": "1", "active": "1", "name": "iPod Nano", "price": "100",
                    "wholesale_price": "80", "reference": "RP-demo_1", "ean13": "1234567890123",
                    "upc": "012345678905", "mpn": "MPN-1", "weight": "0.068357", "quantity": "160"}),
        FeedRow(3, {"id_product": "2", "active": "0", "name": "iPod shuffle", "price": "60",
                    "reference": "RP-demo_2", "quantity": "0"}),
    ]
    assert set(open_feed({"path": str(path)}, "s").columns().values()) <= set(FIELDS)


def test_tax_included_price_is_not_taken_for_the_tax_excluded_price(tmp_path):
    path = write_csv(tmp_path / "f.csv", [["Reference #", "Price tax included"], ["A-1", "12.00"]])
    assert rows_of({"path": str(path)}) == [FeedRow(2, {"reference": "A-1"})]


def test_prestashop_combination_layout_gives_combination_fields(tmp_path):
    path = write_csv(tmp_path / "combinations.csv", [
        ["Product ID*", "Attribute (Name:Type:Position)*", "Value (Value:Position)*", "Reference",
         "EAN13", "Impact on price", "Quantity"],
        ["1", "Color:color:0", "Blue:0", "RP-Nano-Blue", "0000080446392", "40", "10"],
    ])
    assert rows_of({"path": str(path)}) == [FeedRow(2, {
        "id_product": "1", "combination_reference": "RP-Nano-Blue",
        "combination_ean13": "0000080446392", "price": "40", "quantity": "10"})]


def test_canonical_headers_are_read_as_they_are(tmp_path):
    path = write_csv(tmp_path / "f.csv", [list(FIELDS), [f"v{i}" for i in range(len(FIELDS))]], ",")
    (row,) = rows_of({"path": str(path)})
    assert row.fields == {field: f"v{i}" for i, field in enumerate(FIELDS)}


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_delimiter_is_detected_from_the_header(tmp_path, delimiter):
    path = write_csv(tmp_path / "f.csv", [["reference", "price", "name"], ["A-1", "1,50", "x;y|z"]],
                     delimiter)
    assert rows_of({"path": str(path)}) == [FeedRow(2, {"reference": "A-1", "price": "1,50",
                                                        "name": "x;y|z"})]


def test_delimiter_inside_quoted_header_does_not_count():
    assert detect_delimiter('"Name; with; semicolons",reference,price\n') == ","


def test_configured_delimiter_and_quotechar(tmp_path):
    (tmp_path / "f.csv").write_text("reference,price\n'A,1',2\n", encoding="utf-8")
    assert rows_of({"path": str(tmp_path / "f.csv"), "delimiter": ",", "quotechar": "'"}) == [
        FeedRow(2, {"reference": "A,1", "price": "2"})]
    (tmp_path / "t.csv").write_text("reference\tprice;x\nA;1\t2;3\n", encoding="utf-8")
    for tab in ("\t", "tab"):
        assert rows_of({"path": str(tmp_path / "t.csv"), "delimiter": tab}) == [
            FeedRow(2, {"reference": "A;1"})]


# -- encodings ----------------------------------------------------------------------------------


def test_cp1252_file_is_detected(tmp_path):
    path = write_csv(tmp_path / "f.csv", [["Reference #", "Name *"], ["A-1", "Café crème 50 €"]],
                     encoding="cp1252")
    assert b"\xe9" in path.read_bytes()
    assert rows_of({"path": str(path)}) == [FeedRow(2, {"reference": "A-1", "name": "Café crème 50 €"})]


def test_utf8_bom_is_dropped(tmp_path):
    path = write_csv(tmp_path / "f.csv", [["Reference #", "Name *"], ["A-1", "Élégant"]],
                     encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert rows_of({"path": str(path)}) == [FeedRow(2, {"reference": "A-1", "name": "Élégant"})]


def test_stray_cp1252_byte_after_the_sniffed_start_is_decoded_not_fatal(tmp_path):
    path = tmp_path / "f.csv"
    lines = [b"reference;name\n"] + [b"R-%06d;plain\n" % i for i in range(6000)] + [b"R-X;caf\xe9\n"]
    path.write_bytes(b"".join(lines))
    assert rows_of({"path": str(path)})[-1] == FeedRow(6002, {"reference": "R-X", "name": "café"})


def test_configured_encoding_is_strict_and_names_the_line(tmp_path):
    path = write_csv(tmp_path / "f.csv", [["reference", "name"], ["A", "ok"], ["B", "Café"], ["C", "ok"]],
                     encoding="cp1252")
    assert rows_of({"path": str(path), "encoding": "utf-8"}) == [
        FeedRow(2, {"reference": "A", "name": "ok"}),
        FeedRow(3, {"reference": "B"}, 'line 3 is not valid utf-8: "B;Caf\\xe9"'),
        FeedRow(4, {"reference": "C", "name": "ok"})]
    assert rows_of({"path": str(path), "encoding": "latin-1"})[1].fields["name"] == "Café"


def test_undecodable_byte_far_into_the_file_names_its_own_line(tmp_path):
    path = tmp_path / "f.csv"
    lines = [b"reference;name\n"] + [b"R-%04d;%s\n" % (n, b"x" * (n % 40)) for n in range(2, 1001)]
    lines[600] = b"R-0601;caf\xe9\n"  # line 601, well past the first 8 KiB
    path.write_bytes(b"".join(lines))
    rows = rows_of({"path": str(path), "encoding": "utf-8"})
    assert [r for r in rows if r.error] == [FeedRow(601, {"reference": "R-0601"},
                                                    'line 601 is not valid utf-8: "R-0601;caf\\xe9"')]
    assert [r.line for r in rows] == list(range(2, 1001))
    assert all(r.fields["reference"] == f"R-{r.line:04d}" for r in rows)


def test_undecodable_header_is_an_error_for_the_whole_feed(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"r\xe9f\xe9rence;name\nA;x\n")
    assert error_of({"path": str(path), "encoding": "utf-8"}) == (
        f'feed supplier: {path}: cannot read the header: line 1 is not valid utf-8: "r\\xe9f\\xe9rence;name"')


def test_utf16_file_is_read_by_its_byte_order_mark(tmp_path):
    path = write_csv(tmp_path / "f.csv", [["Reference #", "Name *"], ["A-1", "Élégant"], ["A-2", "x"]],
                     encoding="utf-16", newline="\r\n")
    assert rows_of({"path": str(path)}) == [FeedRow(2, {"reference": "A-1", "name": "Élégant"}),
                                            FeedRow(3, {"reference": "A-2", "name": "x"})]


# -- lines, quotes, blanks ------------------------------------------------------------------------


def test_quoted_fields_with_newlines_keep_line_numbers_right(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b'reference;name;price\r\nA;"two\r\nlines";1\r\n\r\nB;"three\nline\ns";2\r\n'
                     b';;\r\nC;"say ""hi""";3\r\n')
    rows = rows_of({"path": str(path)})
    assert [(r.line, r.fields["reference"]) for r in rows] == [(2, "A"), (5, "B"), (9, "C")]
    assert rows[0].fields["name"] == "two\r\nlines" and rows[2].fields["name"] == 'say "hi"'


def test_cells_are_stripped_and_empty_ones_left_out(tmp_path):
    path = write_csv(tmp_path / "f.csv", [["reference", "price", "quantity", "extra"],
                                          ["  A-1 ", " ", "3 ", ""], ["", "", "", "only unknown"]])
    assert rows_of({"path": str(path)}) == [FeedRow(2, {"reference": "A-1", "quantity": "3"}),
                                            FeedRow(3, {})]


def test_empty_file_and_header_only_file_have_no_rows(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text("Reference #;Quantity\n", encoding="utf-8")
    assert rows_of({"path": str(tmp_path / "empty.csv")}) == []
    assert rows_of({"path": str(tmp_path / "header.csv")}) == []


# -- malformed rows: each costs only itself ---------------------------------------------------------


def csv_rows(tmp_path: Path, text: str, **options) -> list[FeedRow]:
    (tmp_path / "f.csv").write_text(text, encoding="utf-8", newline="")
    return rows_of({"path": str(tmp_path / "f.csv"), **options})


DIRTY_FEED = """\
Reference #;Price tax excluded;Quantity
REF-11;12.50;5
REF-12;13.50;6;extra;cells
"REF-13;14.50;7
REF-14;15.50;8
REF-15;16.50;9
REF-16;-3.00;10
REF-3;17.50;11
"""


def test_malformed_rows_are_error_rows_and_the_rows_after_them_are_read(tmp_path):
    assert csv_rows(tmp_path, DIRTY_FEED) == [
        FeedRow(2, {"reference": "REF-11", "price": "12.50", "quantity": "5"}),
        FeedRow(3, {"reference": "REF-12"},
                'line 3 has 5 cells, the header has 3: "REF-12;13.50;6;extra;cells"'),
        FeedRow(4, {"reference": "REF-13"}, 'unterminated quote starting at line 4: "\\"REF-13;14.50;7"'),
        FeedRow(5, {"reference": "REF-14", "price": "15.50", "quantity": "8"}),
        FeedRow(6, {"reference": "REF-15", "price": "16.50", "quantity": "9"}),
        FeedRow(7, {"reference": "REF-16", "price": "-3.00", "quantity": "10"}),
        FeedRow(8, {"reference": "REF-3", "price": "17.50", "quantity": "11"}),
    ]


def test_trailing_empty_cells_beyond_the_header_are_tolerated(tmp_path):
    rows = csv_rows(tmp_path, "reference;price;quantity;;\nA;1;2;;\nB;3;4\nC;5;6; ;\n")
    assert rows == [FeedRow(2, {"reference": "A", "price": "1", "quantity": "2"}),
                    FeedRow(3, {"reference": "B", "price": "3", "quantity": "4"}),
                    FeedRow(4, {"reference": "C", "price": "5", "quantity": "6"})]


def test_fewer_cells_than_the_header_is_an_error_naming_both_counts(tmp_path):
    assert csv_rows(tmp_path, "reference;price;quantity\nA;1\nB;2;3\n") == [
        FeedRow(2, {"reference": "A"}, 'line 2 has 2 cells, the header has 3: "A;1"'),
        FeedRow(3, {"reference": "B", "price": "2", "quantity": "3"})]


def test_error_rows_carry_keys_never_values_to_write(tmp_path):
    (row,) = csv_rows(tmp_path, "Name *;reference;ean13;price;quantity\nCap;A;2000000000015;9.90;1;x\n")
    assert row.fields == {"reference": "A", "ean13": "2000000000015"} and row.error


def test_unterminated_quote_on_the_last_line(tmp_path):
    assert csv_rows(tmp_path, 'reference;name\nA;x\nB;"no end') == [
        FeedRow(2, {"reference": "A", "name": "x"}),
        FeedRow(3, {"reference": "B"}, 'unterminated quote starting at line 3: "B;\\"no end"')]


def test_a_stray_quote_closed_by_a_later_one_costs_only_its_own_line(tmp_path):
    rows = csv_rows(tmp_path, 'reference;price\n"A;1\nB;2\nC;"3"\n"D;4\nE;5\n')
    assert [(r.line, r.fields.get("reference"), r.error) for r in rows] == [
        (2, "A", 'unterminated quote starting at line 2: "\\"A;1"'),
        (3, "B", None),
        (4, "C", None),
        (5, "D", 'unterminated quote starting at line 5: "\\"D;4"'),
        (6, "E", None)]


def test_quoted_record_spanning_lines_with_the_wrong_cell_count_is_read_again_line_by_line(tmp_path):
    rows = csv_rows(tmp_path, 'reference;name;price\nA;"two\nlines";1;9;8\nB;x;2\n')
    assert rows == [
        FeedRow(2, {"reference": "A"}, 'quote opened at line 2 closes at line 3, giving 5 cells where '
                                       'the header has 3: "A;\\"two"'),
        FeedRow(3, {"reference": 'lines"'}, 'line 3 has 4 cells, the header has 3: "lines\\";1;9;8"'),
        FeedRow(4, {"reference": "B", "name": "x", "price": "2"})]


def test_bad_quoting_within_a_line_is_an_error(tmp_path):
    rows = csv_rows(tmp_path, 'reference;name;price\nA;"5" screen";3\nB;"ok";4\nC;5" screen;6\n')
    assert rows == [
        FeedRow(2, {"reference": "A"}, 'line 2 is not valid CSV (\';\' expected after \'"\'): '
                                       '"A;\\"5\\" screen\\";3"'),
        FeedRow(3, {"reference": "B", "name": "ok", "price": "4"}),
        FeedRow(4, {"reference": "C", "name": '5" screen', "price": "6"})]  # a quote inside a cell


def test_raw_text_in_an_error_is_cut(tmp_path):
    (row,) = csv_rows(tmp_path, "reference;name\n" + "A;" + "x" * 200 + ";extra\n")
    assert row.error == 'line 2 has 3 cells, the header has 2: "A;' + "x" * 78 + '..."'


def test_quoted_record_may_span_up_to_the_line_limit(tmp_path):
    limit = MAX_RECORD_LINES
    inside = "\n".join(f"part {n}" for n in range(limit))
    rows = csv_rows(tmp_path, f'reference;name\nA;"{inside}"\nB;"{inside}\nmore"\nC;x\n')
    assert rows[0] == FeedRow(2, {"reference": "A", "name": inside})  # lines 2 to limit + 1
    assert rows[1] == FeedRow(limit + 2, {"reference": "B"},
                              f'unterminated quote starting at line {limit + 2}: "B;\\"part 0"')
    assert [r.line for r in rows[2:]] == list(range(limit + 3, 2 * limit + 4))  # read again
    assert rows[-1] == FeedRow(2 * limit + 3, {"reference": "C", "name": "x"})


def test_stray_quote_before_a_long_quoteless_tail_is_read_in_bounded_memory(tmp_path):
    path = tmp_path / "f.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write('reference;name\n"A;x\n')
        f.writelines(f"R-{n};{'y' * 300}\n" for n in range(20_000))
    tracemalloc.start()
    try:
        rows = ((r.line, r.error is None) for r in open_feed({"path": str(path)}, "s").rows())
        assert next(rows) == (2, False)
        assert sum(1 for line, ok in rows if ok) == 20_000
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_line_longer_than_the_limit_is_an_error_row_and_is_not_kept(tmp_path):
    rows = csv_rows(tmp_path, "reference;name\nA;" + "x" * (MAX_RECORD_CHARS + 10) + "\r\nB;y\n")
    assert rows == [FeedRow(2, {"reference": "A"}, f'line 2 is longer than {MAX_RECORD_CHARS} characters: '
                                                   '"A;' + "x" * 78 + '..."'),
                    FeedRow(3, {"reference": "B", "name": "y"})]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_physical_lines_are_numbered_and_cut_to_the_limit(ending):
    text = io.StringIO(ending.join(["abc", "abcdefgh", "abcdef", "", "x"]), newline="")
    assert list(physical_lines(text, limit=6)) == [
        Line(1, "abc" + ending), Line(2, "abcdef", cut=True), Line(3, "abcdef", cut=True),
        Line(4, ending), Line(5, "x")]


def random_feed(rng: random.Random, ending: str) -> tuple[str, dict[int, tuple[str, str | None]], set[int]]:
    """A feed of random good and malformed records: its text, what each record's first line must
    give (line -> ("ok", reference) or ("error", None)), and the lines inside valid quoted records."""
    lines, expected, inside = ["reference;price;quantity"], {}, set()
    for n in range(rng.randint(1, 60)):
        ref, start = f"R-{n}", len(lines) + 1
        kind = rng.choice(["ok", "ok", "ok", "trailing", "quoted", "multiline", "extra", "missing",
                           "stray", "stray", "badquote", "blank"])
        if kind == "multiline":
            parts = [rng.choice(["a", "b;c", 'say ""hi""', "", "d e"]) for _ in range(rng.randint(2, 5))]
            lines += f'{ref};"x{ending.join(parts)}";1'.split(ending)
            inside.update(range(start + 1, len(lines) + 1))
        else:
            lines.append({"ok": f"{ref};1.50;2", "trailing": f"{ref};1;2;;", "quoted": f'{ref};"1";2',
                          "extra": f"{ref};1;2;x", "missing": f"{ref};1", "badquote": f'{ref};"1"x;2',
                          "stray": rng.choice([f'"{ref};1;2', f'{ref};"1;2', f'{ref};1;"2']),
                          "blank": rng.choice(["", ";;", "  "])}[kind])
        if kind != "blank":
            ok = kind in ("ok", "trailing", "quoted", "multiline")
            expected[start] = ("ok", ref) if ok else ("error", None)
    return ending.join(lines) + rng.choice(["", ending]), expected, inside


@pytest.mark.parametrize("seed", range(200))
def test_every_line_of_a_random_malformed_feed_is_accounted_for(tmp_path, seed):
    rng = random.Random(seed)
    text, expected, inside = random_feed(rng, rng.choice(["\n", "\r\n"]))
    rows = csv_rows(tmp_path, text)
    got = {r.line: ("ok", r.fields["reference"]) if r.error is None else ("error", None) for r in rows}
    assert len(got) == len(rows) and [r.line for r in rows] == sorted(got)  # one row per start line
    assert got == expected
    blank = {n for n, line in enumerate(text.splitlines(), 1) if not line.strip(" ;")}
    assert set(got) | inside | blank == set(range(2, len(text.splitlines()) + 1))
    assert all(r.error is None or "line" in r.error for r in rows)


# -- header mapping and header errors -------------------------------------------------------------


def test_mapping_names_the_feeds_own_headers(tmp_path):
    path = write_csv(tmp_path / "f.csv", [["Art.-Nr.", "Preis netto", "Bestand", "Reference #"],
                                          ["A-1", "9.90", "4", "ignored"]])
    mapping = {"Art.-Nr.": "reference", "preis  NETTO": "price", "Bestand": "quantity",
               "Reference #": ""}
    assert rows_of({"path": str(path), "mapping": mapping}) == [
        FeedRow(2, {"reference": "A-1", "price": "9.90", "quantity": "4"})]


def test_a_mapped_field_is_taken_from_its_column_only(tmp_path):
    path = write_csv(tmp_path / "f.csv", [["Reference #", "Our ref", "Quantity"], ["SUP-1", "A-1", "2"]])
    assert rows_of({"path": str(path), "mapping": {"Our ref": "reference"}}) == [
        FeedRow(2, {"reference": "A-1", "quantity": "2"})]


def test_mapping_to_an_unknown_field_is_refused(tmp_path):
    with pytest.raises(ConnectorError, match="mapping 'Preis' = 'prix': not a field"):
        open_feed({"path": "x.csv", "mapping": {"Preis": "prix"}}, "supplier")


def test_mapped_header_missing_from_the_file_is_an_error(tmp_path):
    path = write_csv(tmp_path / "f.csv", [["reference", "price"], ["A", "1"]])
    message = error_of({"path": str(path), "mapping": {"Bestand": "quantity"}})
    assert message == (f"feed supplier: {path}: mapped column(s) 'Bestand' not in the header; "
                       "header: 'reference', 'price'")


def test_header_without_a_key_column_names_the_file_and_headers(tmp_path):
    path = write_csv(tmp_path / "f.csv", [["Designation", "Prix", "Stock"], ["x", "1", "2"]])
    assert error_of({"path": str(path)}) == (
        f"feed supplier: {path}: no column gives reference, ean13 or id_product; "
        "header: 'Designation', 'Prix', 'Stock'")


def test_two_columns_for_one_field_is_an_error(tmp_path):
    path = write_csv(tmp_path / "f.csv", [["Reference #", "reference"], ["A", "B"]])
    assert "columns 'Reference #' and 'reference' both give reference" in error_of({"path": str(path)})


@pytest.mark.parametrize("options, message", [
    ({"path": "f.csv", "type": "xml"}, "feed supplier: unknown type 'xml' (expected csv or json)"),
    ({"type": "csv"}, "feed supplier: no `url` or `path` given"),
    ({"path": "f.csv", "delimiter": ";;"}, "feed supplier: delimiter must be one character, not ';;'"),
    ({"path": "f.csv", "encoding": "klingon"}, "feed supplier: unknown encoding 'klingon'"),
    ({"url": "ftp://u:pw@host/f.csv"}, "feed supplier: unsupported URL scheme 'ftp' in "
                                       "ftp://***@host/f.csv (expected http, https, file or a path)"),
])
def test_unusable_options_are_refused_at_once(options, message):
    with pytest.raises(ConnectorError) as caught:
        open_feed(options, "supplier")
    assert str(caught.value) == message


# -- files ------------------------------------------------------------------------------------------


def test_missing_file_is_one_line_naming_it(tmp_path):
    path = tmp_path / "nope.csv"
    feed = open_feed({"path": str(path)}, "supplier")
    with pytest.raises(ConnectorError) as caught:
        feed.check()
    assert str(caught.value) == f"feed supplier: file {path} not found"


def test_relative_path_is_resolved_against_base_dir(tmp_path):
    write_csv(tmp_path / "f.csv", [["reference"], ["A"]])
    feed = open_feed({"path": "f.csv"}, "supplier", base_dir=tmp_path)
    assert feed.location == str(tmp_path / "f.csv") and len(list(feed.rows())) == 1
    assert len(rows_of({"url": (tmp_path / "f.csv").as_uri()})) == 1


def test_shipped_sample_feed(tmp_path):
    rows = rows_of({"path": str(SAMPLE)})
    assert len(rows) == 30 and rows[0] == FeedRow(2, {
        "active": "0", "name": "Rustic Wool Apron", "price": "47.033333", "wholesale_price": "23.70",
        "reference": "DEMO-000001", "ean13": "2000000000015", "weight": "2.138", "quantity": "14"})
    references = [r.fields["reference"] for r in rows]
    assert {r for r in references if references.count(r) > 1} == {"DEMO-000014"}
    assert [(r.line, r.fields["reference"]) for r in rows if r.fields.get("price") == "abc"] == [
        (13, "DEMO-000010")]
    assert {"SUP-4711", "DEMO-009999", "DEMO-000007-S"} <= set(references)


# -- HTTP -------------------------------------------------------------------------------------------


CSV_BODY = b"Reference #;Price tax excluded;Quantity\nA-1;9.90;4\nA-2;19.90;0\n"


def test_http_feed_is_read(server):
    server.routes["/feed.csv"] = (200, CSV_BODY, {"Content-Type": "text/csv"})
    assert rows_of({"url": server.url("/feed.csv")}) == [
        FeedRow(2, {"reference": "A-1", "price": "9.90", "quantity": "4"}),
        FeedRow(3, {"reference": "A-2", "price": "19.90", "quantity": "0"})]


def test_http_404_is_one_line(server):
    url = server.url("/missing.csv")
    assert error_of({"url": url}) == f"feed supplier: GET {url}: HTTP 404 Not Found"


def test_truncated_response_is_an_error_not_a_short_feed(server):
    server.routes["/feed.csv"] = (200, CSV_BODY, {"Content-Length": str(len(CSV_BODY) + 500)})
    url = server.url("/feed.csv")
    assert error_of({"url": url}) == (f"feed supplier: GET {url}: response truncated: received "
                                      f"{len(CSV_BODY)} of {len(CSV_BODY) + 500} bytes (Content-Length)")


def test_connection_refused_is_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed.csv"
    assert error_of({"url": url}) == f"feed supplier: GET {url}: Connection refused"


def test_url_credentials_are_sent_and_never_shown(server):
    server.routes["/feed.csv"] = (200, CSV_BODY, {})
    assert len(rows_of({"url": server.url("/feed.csv", "shop%40x:s3cr%3At@")})) == 2
    assert server.authorizations[-1] == "Basic " + base64.b64encode(b"shop@x:s3cr:t").decode()
    message = error_of({"url": server.url("/gone.csv", "shop:s3cret@")})
    assert "s3cret" not in message and "shop" not in message
    assert message == f"feed supplier: GET http://***@127.0.0.1:{server.server_port}/gone.csv: " \
                      "HTTP 404 Not Found"


# -- JSON -------------------------------------------------------------------------------------------


def export_product(id_product: int, **overrides) -> dict:
    values = dict(
        id_product=id_product, reference=f"DEMO-{id_product:06d}", ean13=None, upc=None, mpn=None,
        name=f"Product {id_product}", description_short="", active=True, price="24.166667",
        wholesale_price="10.00", quantity=5, weight="0.5", category_id=None, category_name=None,
        manufacturer=None, date_upd=None, combinations=[])
    return fmt.product(**{**values, **overrides})


def write_export(path: Path, products: list[dict], tail: str = fmt.FILE_TAIL) -> Path:
    head = fmt.file_head(task_id=7, profile="nightly", connection="shop",
                         created_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    body = fmt.SEPARATOR.join(fmt.dumps_product(p) for p in products)
    path.write_text(head + body + tail, encoding="utf-8")
    return path


def test_json_export_file_is_read_with_combinations(tmp_path):
    combination = fmt.combination(id_product_attribute=3, reference="DEMO-000002-M", ean13="2010000000031",
                                  price_impact=-1, quantity=7, attributes={"Size": "M"})
    path = write_export(tmp_path / "export.json", [
        export_product(1, active=False, ean13="2000000000015", name="Élégant"),
        export_product(2, quantity=7, combinations=[combination]),
    ])
    assert rows_of({"path": str(path)}) == [
        FeedRow(1, {"id_product": "1", "reference": "DEMO-000001", "ean13": "2000000000015",
                    "name": "Élégant", "price": "24.166667", "wholesale_price": "10.00",
                    "quantity": "5", "active": "0", "weight": "0.50"}),
        FeedRow(2, {"id_product": "2", "reference": "DEMO-000002", "name": "Product 2",
                    "price": "24.166667", "wholesale_price": "10.00", "quantity": "7", "active": "1",
                    "weight": "0.50"}),
        FeedRow(2, {"reference": "DEMO-000002", "combination_reference": "DEMO-000002-M",
                    "combination_ean13": "2010000000031", "price": "-1.00", "quantity": "7"}),
    ]


def test_json_type_comes_from_the_extension_and_empty_export_has_no_rows(tmp_path):
    path = write_export(tmp_path / "export.json", [])
    assert open_feed({"path": str(path)}, "s").kind == "json" and rows_of({"path": str(path)}) == []


def test_json_without_its_closing_bracket_is_an_error(tmp_path):
    path = write_export(tmp_path / "export.json", [export_product(1), export_product(2)], tail=",\n")
    assert error_of({"path": str(path)}) == (
        f"feed supplier: {path} ends before the closing ]}} of its products (truncated?)")


def test_json_product_that_is_not_an_object_costs_only_its_row(tmp_path):
    path = write_export(tmp_path / "export.json", [export_product(1), ["DEMO-000002", 5], export_product(3)])
    rows = rows_of({"path": str(path)})
    assert [(r.line, r.fields.get("reference"), r.error) for r in rows] == [
        (1, "DEMO-000001", None),
        (2, None, 'product 2 is not a JSON object: "[\\"DEMO-000002\\", 5]"'),
        (3, "DEMO-000003", None)]


def test_json_product_line_that_is_not_json_costs_only_its_row(tmp_path):
    path = write_export(tmp_path / "export.json", [export_product(1), "BROKEN", export_product(3)])
    path.write_text(path.read_text(encoding="utf-8").replace('"BROKEN"', '{"reference": "DEMO-0'),
                    encoding="utf-8")
    rows = rows_of({"path": str(path)})
    assert [(r.line, r.fields.get("reference"), r.error) for r in rows] == [
        (1, "DEMO-000001", None),
        (2, None, 'product 2 (line 3) is not valid JSON (Unterminated string starting at): '
                  '"{\\"reference\\": \\"DEMO-0"'),
        (3, "DEMO-000003", None)]


def test_json_value_that_is_an_object_or_a_list_is_an_error_row_with_the_keys(tmp_path):
    combination = fmt.combination(id_product_attribute=3, reference="DEMO-000002-M", ean13=None,
                                  price_impact=1, quantity=7, attributes={})
    path = write_export(tmp_path / "export.json", [
        export_product(1) | {"price": {"1": "9.90"}},
        export_product(2, combinations=[combination | {"quantity": [7]}, "M", combination]),
        export_product(3) | {"combinations": {"M": 3}},
    ])
    rows = rows_of({"path": str(path)})
    assert [(r.line, r.fields, r.error) for r in rows if r.error] == [
        (1, {"id_product": "1", "reference": "DEMO-000001"},
         'product 1: price is an object, not a value: "{\\"1\\": \\"9.90\\"}"'),
        (2, {"reference": "DEMO-000002", "combination_reference": "DEMO-000002-M"},
         'product 2 combination 1: quantity is a list, not a value: "[7]"'),
        (2, {"reference": "DEMO-000002"}, 'product 2 combination 2 is not a JSON object: "\\"M\\""'),
        (3, {"reference": "DEMO-000003"}, 'product 3: combinations is not a list: "{\\"M\\": 3}"'),
    ]
    assert [(r.line, r.fields.get("combination_reference")) for r in rows if not r.error] == [
        (2, None), (2, "DEMO-000002-M"), (3, None)]


def test_json_bare_list_with_a_product_that_is_not_an_object(tmp_path):
    (tmp_path / "list.json").write_text(json.dumps([export_product(1), 42]), encoding="utf-8")
    assert rows_of({"path": str(tmp_path / "list.json")})[1] == FeedRow(
        2, {}, 'product 2 is not a JSON object: "42"')


def test_json_in_another_layout_is_parsed_whole(tmp_path):
    document = {"format": fmt.FORMAT, "products": [export_product(1), export_product(2)]}
    (tmp_path / "pretty.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    assert [r.fields["reference"] for r in rows_of({"path": str(tmp_path / "pretty.json")})] == [
        "DEMO-000001", "DEMO-000002"]
    (tmp_path / "other.json").write_text(json.dumps({"format": "other/2", "products": []}))
    assert "format 'other/2' is not heartbeat-export/2" in error_of({"path": str(tmp_path / "other.json")})


# -- streaming ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_million_line_csv_is_streamed_in_bounded_memory(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("Reference #;Price tax excluded;Quantity;Name *\n")
        for start in range(0, 1_000_000, 10_000):
            f.write("".join(f"REF-{i:07d};{i % 997}.50;{i % 50};Product number {i}\n"
                            for i in range(start, start + 10_000)))
    feed = open_feed({"path": str(path)}, "big")
    tracemalloc.start()
    try:
        count, last = 0, None
        for row in feed.rows():
            count, last = count + 1, row
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 1_000_000 and last == FeedRow(1_000_001, {
        "reference": "REF-0999999", "price": f"{999_999 % 997}.50", "quantity": "49",
        "name": "Product number 999999"})
    assert peak < 4 * 2**20, f"peak {peak / 2**20:.1f} MiB"
