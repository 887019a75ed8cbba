"""Export lines: orjson writes exactly the bytes `json.dumps` wrote, the per-field digests taken from
the record equal those found in the line, and a batch read by its id range gives the same records
as the same products read by their list (issue 28)."""

from __future__ import annotations

import json

import pytest

from connectors.platform import export_format as fmt


def json_bytes(record: dict) -> bytes:
    """What the export wrote before orjson: the standard library's compact JSON, UTF-8."""
    return json.dumps(record, sort_keys=False, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.fixture
def demo_products():
    return 300


def test_every_demo_product_is_encoded_to_the_same_bytes_as_json(shop):
    records = shop.read_products(range(1, 301))
    assert len(records) == 300
    for record in records.values():
        assert fmt.encode_product(record) == json_bytes(record)


def signed(record: dict) -> tuple[bytes, str]:
    """The line and its per-field digests taken from the record."""
    line = fmt.encode_product(record)
    return line, fmt.record_signature(record, line)


def test_field_digests_from_the_record_equal_those_found_in_the_line(shop):
    records = shop.read_products(range(1, 301))
    for record in records.values():
        line, fields = signed(record)
        assert line == fmt.encode_product(record) and fields == fmt.signature(line)
        assert tuple(record) in fmt._LAYOUTS  # the fast way, not the fallback
        combinations = record.pop("combinations")  # as the export adds a platform category
        record["platform_category"] = {"id": "166", "path": "Apparel > Shoes"}
        record["combinations"] = combinations
        line, fields = signed(record)
        assert line == fmt.encode_product(record) and fields == fmt.signature(line)


def test_a_changed_price_is_named_alone_by_the_record_digests(shop):
    record = shop.read_products([7])[7]
    before = signed(record)[1]
    record["price"], record["quantity"] = "1234.50", record["quantity"] + 1
    after = signed(record)[1]
    assert fmt.changed_fields(before, after) == ["price", "quantity"]


@pytest.mark.parametrize("value", [
    "Élégant ñ 中文 🎉", 'quote " and backslash \\ and slash /', "tab\tnew\nline\rcr\bbs\fff",
    "".join(chr(c) for c in range(32)) + "\x7f", "line\u2028para\u2029sep", "\ufffd broken", "",
    2**63 - 1, -2**63, 0, True, False, None, [], {}, [1, "a", None, [{}]], {"nested": {"deep": ["x"]}},
])
def test_dirty_and_edge_values_are_encoded_as_json_did(value):
    record = {"id_product": 1, "name": value, "combinations": [{"attributes": {"Größe": value}}]}
    assert fmt.encode_product(record) == json_bytes(record)


def test_values_orjson_refuses_go_through_json_as_before():
    big = {"id_product": 2**70, "name": "x"}
    assert fmt.encode_product(big) == json_bytes(big)
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate: no UTF-8 line, as before
        fmt.encode_product({"name": "\ud800"})


def test_a_deleted_entry_and_an_odd_record_fall_back_to_searching_the_line():
    entry = fmt.deleted(5, "REF-5")
    assert signed(entry) == (fmt.encode_product(entry), fmt.signature(fmt.encode_product(entry)))


def test_a_dense_batch_read_by_range_equals_the_same_products_read_by_list(shop):
    everything = shop.read_products(range(1, 301))
    sparse = [3, 50, 51, 120, 299]  # gaps far wider than the batch: range and list
    assert shop.read_products(sparse) == {pid: everything[pid] for pid in sparse}
    dense = [10, 11, 13, 14, 16]  # small gaps: the range alone, the gaps' rows left out
    assert shop.read_products(dense) == {pid: everything[pid] for pid in dense}
    assert shop.read_products([299, 12, 301, 12]) == {12: everything[12], 299: everything[299]}


def test_field_digests_of_a_value_orjson_refuses_are_found_in_the_line():
    record = dict.fromkeys(fmt.PRODUCT_KEYS, "x")
    record["id_product"] = 2**70
    line, fields = signed(record)
    assert line == json_bytes(record) and fields == fmt.signature(line)
