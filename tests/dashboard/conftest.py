"""Dashboard tests: a migrated database of the test's own with seed.sql loaded and the rollups
refreshed, and the dashboard's environment pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st

from sql import db, rollups

SEED = (Path(__file__).parent / "seed.sql").read_text()


def seed(url: str) -> None:
    with db.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
        rollups.refresh(conn)


@pytest.fixture
def seeded_url(db_url: str) -> str:
    seed(db_url)
    return db_url


@pytest.fixture
def dashboard_env(seeded_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app's environment for AppTest (same process); the caches are emptied afterwards so
    the next test's database is not answered from this one's."""
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    monkeypatch.setenv("WATTLINE_OPERATOR_PASSWORD", "s3cret")
    yield seeded_url
    st.cache_data.clear()
    st.cache_resource.clear()
