"""A property-based fuzz of the whole OpenAPI schema with Schemathesis (its own CLI, as a user
would run it) against the running API with an admin token, over seed 000's data so generated
ids hit real rows: no input may get a 5xx. Bounded: a fixed seed and 25 examples an operation
(about 2,000 requests, half a minute)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from api_support import hs256

from sql import db

SEED = (Path(__file__).parent / "seed_charging.sql").read_text()


@pytest.fixture(scope="module")
def seeded(api):
    with db.connect(api.db_url, autocommit=True) as conn:
        conn.execute(SEED)
    return api


def test_no_input_gets_a_server_error(seeded, tmp_path):
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{seeded.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {hs256('admin')}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "25",
            "--seed",
            "16",
            "--workers",
            "1",  # its threaded coverage phase trips over Hypothesis's lambda cache
            "--generation-codec",
            "utf-8",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    tail = "\n".join(run.stdout.splitlines()[-40:])
    assert run.returncode == 0, tail
    assert "generated" in tail and " passed" in tail and "failed" not in tail, tail
