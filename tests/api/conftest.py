"""One `wattline api` process per test module and storage profile, over a database of its own
(the tests of a module share it, each with its own rows)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from api_support import Api, start, stop
from databases import SERVERS

PROFILE_PARAMS = [
    pytest.param("postgres", id="postgres"),
    pytest.param("timescale", id="timescale", marks=[pytest.mark.timescale]),
]


@pytest.fixture(scope="module", params=PROFILE_PARAMS)
def api_db(request, templates) -> Iterator[tuple[str, str]]:
    profile = request.param
    server = SERVERS[profile]
    name = f"wattline_test_{uuid.uuid4().hex[:12]}"
    server.copy(name, templates.get(profile))
    yield profile, server.database_url(name)
    server.drop(name)


@pytest.fixture(scope="module")
def api(api_db) -> Iterator[Api]:
    profile, url = api_db
    proc, base = start(url)
    yield Api(base, url, profile)
    stop(proc)
