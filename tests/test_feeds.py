"""Feeds: CSV and JSON product feeds from files and over HTTP, streamed, with one-line errors."""

from __future__ import annotations

import base64
import json
import socket
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.feeds import FIELDS, FeedRow, open_feed
from connectors.feeds.csv_feed import detect_delimiter
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
    path = write_csv(tmp_path / "f.csv", [["reference", "name"], ["A", "ok"], ["B", "Café"]],
                     encoding="cp1252")
    message = error_of({"path": str(path), "encoding": "utf-8"})
    assert message.startswith(f"feed supplier: {path} is not valid utf-8 (line ")
    assert "\n" not in message
    assert rows_of({"path": str(path), "encoding": "latin-1"})[1].fields["name"] == "Café"


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
                                          ["  A-1 ", " ", "3 "], ["", "", "", "only unknown"]])
    assert rows_of({"path": str(path)}) == [FeedRow(2, {"reference": "A-1", "quantity": "3"}),
                                            FeedRow(3, {})]


def test_empty_file_and_header_only_file_have_no_rows(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text("Reference #;Quantity\n", encoding="utf-8")
    assert rows_of({"path": str(tmp_path / "empty.csv")}) == []
    assert rows_of({"path": str(tmp_path / "header.csv")}) == []


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


def test_json_in_another_layout_is_parsed_whole(tmp_path):
    document = {"format": fmt.FORMAT, "products": [export_product(1), export_product(2)]}
    (tmp_path / "pretty.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    assert [r.fields["reference"] for r in rows_of({"path": str(tmp_path / "pretty.json")})] == [
        "DEMO-000001", "DEMO-000002"]
    (tmp_path / "other.json").write_text(json.dumps({"format": "other/2", "products": []}))
    assert "format 'other/2' is not heartbeat-export/1" in error_of({"path": str(tmp_path / "other.json")})


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
