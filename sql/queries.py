"""Named queries kept in ``sql/queries/*.sql``.

Each query starts with a ``-- name --`` header line, then optional ``--`` comment lines that
describe it; the SQL runs until the next header. Queries use ``%(param)s`` placeholders, so
values always travel as parameters, never spliced into the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

QUERY_DIR = Path(__file__).parent / "queries"
_HEADER = re.compile(r"^--\s*([a-z_][a-z0-9_]*)\s*--\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Query:
    name: str
    description: str
    text: str


def parse(source: str, origin: str = "<string>") -> dict[str, Query]:
    """Split one file's text into its named queries."""
    found: dict[str, Query] = {}
    headers = list(_HEADER.finditer(source))
    preamble = source[: headers[0].start()] if headers else source
    if any(line.strip() and not line.lstrip().startswith("--") for line in preamble.splitlines()):
        # SQL before the first header belongs to no query and would silently never run.
        raise ValueError(f"{origin}: SQL before the first '-- name --' header")
    for i, header in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(source)
        body = source[header.end() : end].strip()
        lines = body.splitlines()
        description = []
        while lines and lines[0].startswith("--"):
            description.append(lines.pop(0).lstrip("-").strip())
        text = "\n".join(lines).strip()
        name = header.group(1)
        if not text:
            raise ValueError(f"{origin}: query {name!r} has no SQL")
        if name in found:
            raise ValueError(f"{origin}: query {name!r} is defined twice")
        found[name] = Query(name, " ".join(description), text)
    return found


@cache
def all_queries(directory: Path = QUERY_DIR) -> dict[str, Query]:
    """Every named query under ``directory``; names are unique across files."""
    queries: dict[str, Query] = {}
    for path in sorted(directory.glob("*.sql")):
        for name, query in parse(path.read_text(), str(path)).items():
            if name in queries:
                raise ValueError(f"{path}: query {name!r} is already defined in another file")
            queries[name] = query
    return queries


def get(name: str) -> str:
    """The SQL text of the named query."""
    try:
        return all_queries()[name].text
    except KeyError:
        raise KeyError(f"no named query {name!r} in {QUERY_DIR}") from None
