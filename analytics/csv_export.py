"""CSV that a spreadsheet opens as data, never as formulas (OWASP "CSV injection").

Identities, id tags and serials come from chargers and meters we do not control: a cell such as
``=HYPERLINK(...)`` or ``@SUM(...)`` would run as a formula when an analyst opens the export.
Text cells that start with ``= + - @``, a tab or a carriage return get a leading apostrophe,
which spreadsheets show as text and do not display. Numbers are left alone: they are written as
numbers, and a negative number is no formula. Every CSV the product writes goes through here
(``wattline report`` and the dashboard's downloads).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import polars as pl

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PATTERN = "^[=+\\-@\t\r]"


def neutralised(df: pl.DataFrame) -> pl.DataFrame:
    text = [name for name, dtype in df.schema.items() if dtype == pl.String]
    if not text:
        return df
    return df.with_columns(
        pl.when(pl.col(name).str.contains(_PATTERN))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text
    )


def write_csv(df: pl.DataFrame, out: Path | BinaryIO | None = None) -> bytes | None:
    """``df`` as CSV, neutralised: to ``out``, or returned as bytes when ``out`` is None."""
    safe = neutralised(df)
    if out is None:
        return safe.write_csv().encode()
    safe.write_csv(out)
    return None
