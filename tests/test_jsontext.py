"""core.jsontext: orjson where it can, `json` where orjson refuses, the same values either way."""

import json
from decimal import Decimal

import pytest

from core import jsontext
from tasks.models import Outcome
from tasks.states import ItemStatus


def exact(value):
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} in a plan")


@pytest.mark.parametrize("value", [
    {"line": 2, "fields": {"reference": "A-1", "name": "Thé « vert » 🍵", "price": "12.50"}},
    {"line": 7, "fields": {}, "error": "line 7 is not valid utf-8: \\xe9"},
    {"text": "quote \" backslash \\ tab \t U+2028 \u2028 nul \x00"},
    [1, None, True, False, 2 ** 63 - 1, -(2 ** 63), 0.1, [], {}],
])
def test_what_it_writes_reads_back_as_json_reads_it(value):
    text = jsontext.dumps(value)
    assert isinstance(text, str)
    assert json.loads(text) == value
    assert jsontext.loads(text) == value


def test_what_orjson_refuses_goes_through_json():
    lone = {"fields": {"name": "bad \udc81 byte"}}  # a lone surrogate (from a JSON feed's "\udc81")
    big = {"id": 2 ** 70}
    for value in (lone, big):
        text = jsontext.dumps(value)
        assert text == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        assert jsontext.loads(text) == value


def test_text_an_older_version_wrote_still_reads():
    old = json.dumps({"line": 3, "fields": {"price": "9.99"}}, ensure_ascii=False)  # with spaces
    assert jsontext.loads(old) == {"line": 3, "fields": {"price": "9.99"}}


def test_named_tuples_are_arrays_and_default_converts_the_rest():
    outcome = Outcome(3, ItemStatus.PROCESSED, "updated", "price: 1.00 -> 2.50", 5, 0)
    value = {"outcomes": [outcome], "effects": [[3, [5, 0, {"price": Decimal("2.500000")}]]]}
    text = jsontext.dumps(value, default=exact)
    assert json.loads(text) == json.loads(json.dumps(value, default=exact))
    assert json.loads(text)["effects"][0][1][2]["price"] == "2.500000"


def test_a_value_nobody_can_write_is_refused():
    with pytest.raises(TypeError, match="set"):
        jsontext.dumps({"x": {1, 2}})
    with pytest.raises(TypeError, match="object in a plan"):
        jsontext.dumps({"x": object()}, default=exact)
