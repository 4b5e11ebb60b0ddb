"""A connection with plain tuple rows to the test's migrated database (either profile)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from sql import db


@pytest.fixture
def tuple_conn(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db.with_session_options(db_url), autocommit=True) as conn:
        yield conn
