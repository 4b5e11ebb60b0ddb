"""When `wattline migrate` may use TimescaleDB and when it updates the extension."""

from __future__ import annotations

import pytest

from sql.timescaledb import preloaded, update_needed, version_key


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("timescaledb", True),
        ("pg_stat_statements, timescaledb", True),
        ('"timescaledb"', True),
        ("timescaledb-2.28.3", True),
        ("", False),
        ("pg_stat_statements", False),
        ("timescaledb_toolkit", False),
    ],
)
def test_the_loader_must_be_in_shared_preload_libraries(setting, expected):
    assert preloaded(setting) is expected


def test_versions_compare_as_numbers_not_text():
    assert version_key("2.28.3") == (2, 28, 3)
    assert version_key("2.23.0-dev") == (2, 23, 0)
    assert version_key("2.9.3") < version_key("2.28.3")  # as text, "2.9" > "2.28"


@pytest.mark.parametrize(
    ("in_database", "installed", "update"),
    [
        ("2.28.2", "2.28.3", True),
        ("2.9.3", "2.28.3", True),
        ("2.28.3", "2.28.3", False),
        ("2.28.3", "2.28.2", False),  # never a downgrade: that needs a script we do not build
        (None, "2.28.3", False),  # no extension in this database (the postgres profile)
    ],
)
def test_the_extension_is_updated_only_when_the_server_has_a_newer_one(
    in_database, installed, update
):
    assert update_needed(in_database, installed) is update
