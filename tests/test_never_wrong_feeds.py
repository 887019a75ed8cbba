"""Issue 23, feeds: no mojibake, no control character and no lone surrogate reaches the shop; each
bad row costs itself only (docs/dirty-data.md)."""

from __future__ import annotations

import json

from connectors.feeds import FeedRow, open_feed
from connectors.feeds.text import Counts, decide, scan
from connectors.prestashop import create_demo_shop
from core.fields import control_character
from tests.helpers import import_config, make_heartbeat, raw

NAMES = ["Élégant café crème", "Größe Übergröße", "Señora Ñandú", "Zoë's naïve piñata"]


def rows_of(path) -> list[FeedRow]:
    return list(open_feed({"path": str(path)}, "supplier").rows())


def test_a_big_utf8_file_with_two_bad_bytes_is_read_as_utf8(tmp_path):
    """5 MB: a bad byte in the first data line and one near the end; the rest reads exactly."""
    path = tmp_path / "big.csv"
    with open(path, "wb") as f:
        f.write(b"reference;name\n")
        f.write(b"R-BAD1;caf\xff noir\n")
        number = 0
        while f.tell() < 5 * 1024 * 1024:
            number += 1
            f.write(f"R-{number:07d};{NAMES[number % 4]}\n".encode())
        f.write(b"R-BAD2;cr\xe8me\n")
        f.write("R-LAST;Élégant\n".encode())
    rows = rows_of(path)
    assert rows[0] == FeedRow(2, {"reference": "R-BAD1"}, 'line 2 is not valid utf-8: "R-BAD1;caf\\xff noir"')
    assert rows[-2] == FeedRow(number + 3, {"reference": "R-BAD2"},
                               f'line {number + 3} is not valid utf-8: "R-BAD2;cr\\xe8me"')
    assert rows[-1] == FeedRow(number + 4, {"reference": "R-LAST", "name": "Élégant"})
    assert [r.fields["name"] for r in rows[1:5]] == [NAMES[1], NAMES[2], NAMES[3], NAMES[0]]
    assert sum(1 for r in rows if r.error) == 2


def test_a_short_file_with_a_bad_byte_in_one_row_of_five(tmp_path):
    path = tmp_path / "short.csv"
    lines = [b"reference;name"]
    for i in range(20):
        name = NAMES[i % 4].encode() if i % 5 else b"caf\xe9"  # cp1252's e acute in a UTF-8 file
        lines.append(b"R-%d;" % i + name)
    path.write_bytes(b"\n".join(lines) + b"\n")
    rows = rows_of(path)
    assert [r.line for r in rows if r.error] == [2, 7, 12, 17]
    assert all(r.fields["name"] == NAMES[i % 4] for i, r in enumerate(rows) if i % 5)


def test_a_cp1252_file_stays_cp1252_and_the_decision_says_why(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("reference;name\nA;Café crème 50 €\nB;Ñandú\n".encode("cp1252"))
    feed = open_feed({"path": str(path)}, "supplier")
    assert [r.fields["name"] for r in feed.rows()] == ["Café crème 50 €", "Ñandú"]
    assert feed.decision.encoding == "cp1252" and "5 invalid bytes" in feed.decision.why


def test_the_decision_counts_sequences_cut_between_chunks():
    text = "é".encode() * 3
    assert scan([text[:1], text[1:4], text[4:]]) == Counts(3, 0)
    assert scan([b"caf\xe9", b" cr\xe8me"]) == Counts(0, 2)
    assert decide(Counts(1, 1)).encoding == "cp1252"  # a tie is not UTF-8
    assert decide(Counts(2, 1)).encoding == "utf-8"


def test_every_unicode_cc_character_is_refused_but_a_tab_only_where_allowed():
    for char in ["\x07", "\x7f", "\x85", "\x9b", "\x81", "\t"]:
        assert control_character("name", f"a{char}b") == f"name holds the control character U+{ord(char):04X}"
    assert control_character("name", "Élégant — ok ½ € ™") is None


def import_of(tmp_path, db_url, shop_url, clock, feed, fields):
    source = {"path": str(feed), "type": feed.suffix[1:]}
    beat = make_heartbeat(import_config(tmp_path, db_url, shop_url, source, fields=fields), clock)
    task = beat.store.create(beat.config.profile("supplier"), "manual", clock.now(), clock.now())
    beat.run_until_idle()
    return beat, beat.store.get(task.id), list(beat.store.items(task.id))


def names(shop_url) -> dict[str, str]:
    return dict(raw(shop_url, "SELECT p.reference, l.name FROM ps_product p JOIN ps_product_lang l "
                              "ON l.id_product = p.id_product AND l.id_lang = 1"))


def test_a_utf8_feed_with_one_bad_byte_writes_no_mojibake(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=6, seed=42)
    refs = sorted(names(shop_url))
    body = [b"reference;name"] + [f"{refs[i]};{NAMES[i]}".encode() for i in range(4)]
    body.insert(3, refs[4].encode() + b";Caf\xff noir")
    feed = tmp_path / "feed.csv"
    feed.write_bytes(b"\n".join(body) + b"\n")
    _, task, items = import_of(tmp_path, db_url, shop_url, clock, feed, ["name"])
    assert task.status == "completed" and task.progress.error == 1 and task.progress.processed == 4
    shop = names(shop_url)
    assert [shop[refs[i]] for i in range(4)] == NAMES
    assert [i.detail for i in items if i.status == "error"] == [
        f'line 4 is not valid utf-8: "{refs[4]};Caf\\xff noir"']


def test_control_characters_in_a_name_are_item_errors_per_field(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=6, seed=42)
    refs = sorted(names(shop_url))
    before = names(shop_url)
    feed = tmp_path / "feed.csv"
    rows = ["reference;name;price", f"{refs[0]};DEL\x7fhere;1.00", f"{refs[1]};NEL\x85here;2.00",
            f"{refs[2]};CSI\x9b1m;3.00", f"{refs[3]};Fine name;4.00"]
    feed.write_text("\n".join(rows) + "\n", encoding="utf-8")
    _, task, items = import_of(tmp_path, db_url, shop_url, clock, feed, ["name", "price"])
    assert task.status == "completed" and task.progress.error == 3
    assert [i.detail for i in items[:3]] == ["name holds the control character U+007F (line 2)",
                                             "name holds the control character U+0085 (line 3)",
                                             "name holds the control character U+009B (line 4)"]
    after = names(shop_url)
    assert [after[r] for r in refs[:3]] == [before[r] for r in refs[:3]] and after[refs[3]] == "Fine name"


def test_cp1252_undefined_bytes_are_refused_not_written(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=6, seed=42)
    refs = sorted(names(shop_url))
    feed = tmp_path / "feed.csv"
    feed.write_bytes(b"reference;name\n" + refs[0].encode() + b";Caf\xe9 \x81x\n"
                     + refs[1].encode() + b";Cr\xe8me\n")
    _, task, items = import_of(tmp_path, db_url, shop_url, clock, feed, ["name"])
    assert items[0].detail == "name holds the control character U+0081 (line 2)"
    assert items[1].status == "processed"
    assert names(shop_url)[refs[1]] == "Crème"


def test_a_lone_surrogate_in_a_json_feed_is_one_item_error(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=6, seed=42)
    refs = sorted(names(shop_url))
    feed = tmp_path / "feed.json"
    products = ",".join([json.dumps({"reference": refs[0], "name": "Fine"}),
                         '{"reference": "' + refs[1] + '", "name": "a\\ud800b"}',
                         json.dumps({"reference": refs[2], "name": "Also fine"})])
    feed.write_text('{"products": [' + products + ']}', encoding="utf-8")
    _, task, items = import_of(tmp_path, db_url, shop_url, clock, feed, ["name"])
    assert task.status == "completed" and task.progress.error == 1 and task.progress.processed == 2
    assert items[1].detail == 'product 2: name holds a lone surrogate \\ud800, not text: "a\\ud800b"'
    assert names(shop_url)[refs[2]] == "Also fine"
