import pytest

from sql import queries


def test_parse_splits_on_headers_and_keeps_descriptions():
    parsed = queries.parse(
        "-- file comment\n\n-- first --\n-- The first query\nSELECT 1;\n\n"
        "-- second --\nSELECT %(x)s;\n"
    )
    assert list(parsed) == ["first", "second"]
    assert parsed["first"].description == "The first query"
    assert parsed["first"].text == "SELECT 1;"
    assert parsed["second"].text == "SELECT %(x)s;"


def test_sql_before_the_first_header_is_an_error():
    with pytest.raises(ValueError, match="before the first"):
        queries.parse("SELECT 1;\n-- q --\nSELECT 2;")


def test_a_name_defined_twice_is_an_error():
    with pytest.raises(ValueError, match="defined twice"):
        queries.parse("-- q --\nSELECT 1;\n-- q --\nSELECT 2;")


def test_an_empty_query_is_an_error():
    with pytest.raises(ValueError, match="no SQL"):
        queries.parse("-- q --\n-- only a comment\n")


def test_the_project_queries_load_and_unknown_names_say_so():
    assert "relations" in queries.all_queries()
    with pytest.raises(KeyError, match="no named query 'nope'"):
        queries.get("nope")
