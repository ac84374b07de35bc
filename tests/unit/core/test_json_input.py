"""JSON from outside the portal is read within a depth limit, and every failure is one named error."""

import json

import pytest

from portal.core import json_input
from portal.core.json_input import JsonTooDeep, NotJson


def test_json_nested_eight_thousand_levels_is_refused_with_the_limit_named():
    with pytest.raises(JsonTooDeep, match="nested more than 64 levels deep"):
        json_input.loads("[" * 8000 + "]" * 8000)
    with pytest.raises(JsonTooDeep):
        json_input.loads('{"a": ' * 8000 + "1" + "}" * 8000)


def test_json_at_the_depth_limit_is_read_and_one_level_more_is_not():
    assert json_input.loads("[" * 64 + "]" * 64) == json.loads("[" * 64 + "]" * 64)
    with pytest.raises(JsonTooDeep):
        json_input.loads("[" * 65 + "]" * 65)


def test_brackets_inside_strings_do_not_count_towards_the_depth():
    text = json.dumps({"note": "[" * 500 + '\\"{' * 100, "list": [[1]]})
    assert json_input.loads(text)["list"] == [[1]]
    assert json_input.depth(text) == 3


def test_text_that_is_not_json_says_where_it_stops():
    with pytest.raises(NotJson, match=r"is not JSON \(Expecting value at column 7\)") as caught:
        json_input.loads('{"a": }')
    assert caught.value.reason == "Expecting value at column 7"
    with pytest.raises(NotJson, match="at line 2, column 1"):
        json_input.loads('{"a": 1,\n}')


def test_a_number_of_thousands_of_digits_is_not_json_the_portal_reads_rather_than_a_crash():
    with pytest.raises(NotJson, match="more digits than the portal reads"):
        json_input.loads('{"record_count": ' + "9" * 5000 + "}")


def test_bytes_are_read_as_utf8_and_other_bytes_are_named():
    assert json_input.loads(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    with pytest.raises(NotJson, match="not UTF-8 text, byte 8"):
        json_input.loads(b'{"a": "\xff"}')


def test_an_error_of_the_callers_hook_passes_through_unchanged():
    class Duplicate(ValueError):
        pass

    def refuse(pairs):
        raise Duplicate("the field a is given twice")

    with pytest.raises(Duplicate, match="given twice"):
        json_input.loads('{"a": 1, "a": 2}', object_pairs_hook=refuse)
