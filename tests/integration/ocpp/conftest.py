"""The `central` fixture: a running central system with a spool of the test's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from ocpp_support import TEST_CONFIG, running

from ingest.ocpp.server import CentralSystem


@pytest.fixture
async def central(db_url: str, tmp_path: Path) -> AsyncIterator[CentralSystem]:
    config = replace(TEST_CONFIG, spool_path=tmp_path / "spool.jsonl")
    async with running(config, db_url) as system:
        yield system
