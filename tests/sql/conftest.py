"""Connections to a migrated database of each storage profile, with plain tuple rows."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from sql import db


@pytest.fixture
def postgres_conn(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db.with_session_options(db_url), autocommit=True) as conn:
        yield conn


@pytest.fixture
def timescale_conn(timescale_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db.with_session_options(timescale_url), autocommit=True) as conn:
        yield conn
