"""analytics.csv_export: text that a spreadsheet would run as a formula is shown as text."""

from __future__ import annotations

import csv
import io

import polars as pl

from analytics.csv_export import write_csv


def test_formula_starts_get_an_apostrophe_and_nothing_else_changes() -> None:
    cells = ["=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx", "ok", "a=b", " =x", None]
    df = pl.DataFrame({"text": cells, "number": [-1.5] * len(cells)})
    rows = list(csv.DictReader(io.StringIO(write_csv(df).decode(), newline="")))
    assert [r["text"] for r in rows] == [
        "'=1+1",
        "'+1",
        "'-1+2",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "ok",
        "a=b",
        " =x",  # spreadsheets do not evaluate a cell that starts with a space
        "",
    ]
    assert {r["number"] for r in rows} == {"-1.5"}  # a negative number is data, not a formula
