"""docs/sql.md from the database's own comments: the SQL reporting interface (every rollup and
view) with each column's type, meaning and unit. The comments live in the migrations, so
`\\d+` in psql, BI tools and this file say the same thing.

Run: python -m sql.docs [--check] (DATABASE_URL: a migrated database). --check exits 1 when
docs/sql.md differs from what the database says, or when a relation or column has no comment."""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path

import psycopg

from sql import db, queries

DOC = Path(__file__).resolve().parent.parent / "docs" / "sql.md"
HEADER = """# SQL reporting interface

Generated from the database's comments by `python -m sql.docs`; do not edit by hand (the
comments are in `sql/migrations/`). Connect as the read-only role `wattline_reader`; every
relation below is in schema `wattline`, which is on that role's search path. Times are
`timestamptz`, stored in UTC. Rollups are continuous aggregates on TimescaleDB and tables
refreshed by `wattline jobs` on plain PostgreSQL, with the same columns in both. Each rollup
has a view `<rollup>_time` with a `time` column (its `bucket`), the time axis Grafana and Metabase
look for. Rollup days are UTC days; `connector_energy_local_daily` and `meter_energy_local_daily`
count local days, in the device's zone or the site's (`wattline.site_tz`, default Asia/Kolkata);
for long histories read them through `connector_energy_local_days(lo, hi)` and
`meter_energy_local_days(lo, hi)` (the days starting in [lo, hi)), which read only those buckets.
"""


class Undocumented(Exception):
    pass


def render(conn: psycopg.Connection) -> str:
    """The markdown document; raises Undocumented naming every relation or column without a
    comment."""
    rows = conn.execute(queries.get("interface_columns")).fetchall()
    missing = [
        f"{r['relation']}.{r['column_name']}" for r in rows if not r["column_comment"]
    ] + sorted({r["relation"] for r in rows if not r["relation_comment"]})
    if missing:
        raise Undocumented("no comment on: " + ", ".join(missing))
    out = [HEADER]
    for kind, title in (("rollup", "Rollups"), ("view", "Views")):
        out.append(f"## {title}\n")
        chosen = [r for r in rows if r["kind"] == kind]
        for relation, columns in itertools.groupby(chosen, key=lambda r: r["relation"]):
            columns = list(columns)
            out.append(f"### {relation}\n\n{columns[0]['relation_comment']}\n")
            out.append("| column | type | meaning |\n|---|---|---|")
            out += [
                f"| `{c['column_name']}` | {c['column_type']} | "
                f"{c['column_comment'].replace('|', '/')} |"
                for c in columns
            ]
            out.append("")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--check", action="store_true", help="compare with docs/sql.md, write nothing")
    args = p.parse_args()
    url = os.environ.get("DATABASE_URL", "postgresql://127.0.0.1:5432/wattline")
    with db.connect(url) as conn:
        try:
            text = render(conn)
        except Undocumented as e:
            sys.exit(str(e))
    if args.check:
        if DOC.read_text() != text:
            sys.exit(f"{DOC} is stale: run python -m sql.docs")
        return
    DOC.write_text(text)
    print(f"written {DOC}")


if __name__ == "__main__":
    main()
