"""Paging and time windows of list routes, checked the same way everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Query

from api.problems import Problem

MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Page:
    page: int
    size: int

    @property
    def params(self) -> dict:
        return {"limit": self.size, "offset": (self.page - 1) * self.size}

    def body(self, items: list, total: int) -> dict:
        return {"items": items, "page": self.page, "pageSize": self.size, "total": total}


def page(
    page: int = Query(1, ge=1, le=1_000_000, description="1 is the first page"),
    page_size: int = Query(50, ge=1, le=MAX_PAGE_SIZE),
) -> Page:
    return Page(page, page_size)


def total_of(rows: list[dict]) -> int:
    return rows[0]["total"] if rows else 0


def window(lo: datetime | None, hi: datetime | None) -> tuple[datetime | None, datetime | None]:
    for name, t in (("from", lo), ("to", hi)):
        if t is not None and t.tzinfo is None:
            raise Problem(422, f"{name!r} needs a time zone, e.g. 2024-01-27T00:00:00Z")
    if lo is not None and hi is not None and hi <= lo:
        raise Problem(422, "'to' must be after 'from'")
    return lo, hi
