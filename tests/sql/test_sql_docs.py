"""docs/sql.md is what the database says about its reporting interface, on both profiles, and
nothing in that interface goes without a comment."""

from __future__ import annotations

import pytest

from sql import db
from sql.docs import DOC, Undocumented, render


def test_docs_sql_md_is_current(db_url):
    with db.connect(db_url) as conn:
        assert render(conn) == DOC.read_text(), "docs/sql.md is stale: run python -m sql.docs"


def test_the_documented_figures_carry_their_units(db_url):
    with db.connect(db_url) as conn:
        comment = conn.execute(
            "SELECT col_description('wattline.session_report'::regclass, attnum) AS c"
            "  FROM pg_attribute WHERE attrelid = 'wattline.session_report'::regclass"
            "   AND attname = 'energy_kwh'"
        ).fetchone()["c"]
    assert "kWh" in comment


def test_a_view_without_comments_is_named(db_url):
    with db.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE VIEW wattline.late_addition AS SELECT 1 AS answer")
        with pytest.raises(Undocumented, match=r"late_addition\.answer.*late_addition"):
            render(conn)
        conn.execute("COMMENT ON VIEW wattline.late_addition IS 'A test view'")
        conn.execute("COMMENT ON COLUMN wattline.late_addition.answer IS 'The answer'")
        assert "### late_addition\n\nA test view" in render(conn)
