"""The frame log writes every connection's waiting frames in one batch. Should the database still
refuse one row (the edge checks mean none should reach it), every frame of that batch is stored
all the same, the refused one as text."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from ocpp_support import eventually, query

from ingest.ocpp.frames import FrameLog
from ingest.writer import Writer


async def test_one_refused_frame_row_does_not_cost_the_other_frames(db_url):
    writer = Writer(db_url, retry_interval_s=0.2)
    await writer.start()
    try:
        logs = {cp: FrameLog(cp, writer) for cp in ("CP-1", "CP-2", "CP-3")}
        for cp, frames in logs.items():
            frames.record("in", json.dumps([2, f"{cp}-a", "Heartbeat", {}]))
            frames.record("out", json.dumps([3, f"{cp}-a", {"currentTime": "x"}]))
        # A row no frame_row would make: "NaN" is no jsonb. Recorded with the others, so the
        # flusher writes it in the same batch.
        at = datetime.now(UTC)
        logs["CP-2"]._rows.append((at, "CP-2", "in", 2, "bad", "X", '{"a": NaN}', None))
        await asyncio.sleep(0)

        def stored():
            rows = query(
                db_url,
                "SELECT charge_point_id, message_id, raw FROM wattline.ocpp_messages"
                " ORDER BY charge_point_id, direction",
            )
            return rows if len(rows) == 7 else None

        rows = await eventually(stored)
    finally:
        await writer.stop()
    assert sorted((r["charge_point_id"], r["message_id"]) for r in rows) == [
        ("CP-1", "CP-1-a"),
        ("CP-1", "CP-1-a"),
        ("CP-2", "CP-2-a"),
        ("CP-2", "CP-2-a"),
        ("CP-2", "bad"),
        ("CP-3", "CP-3-a"),
        ("CP-3", "CP-3-a"),
    ]
    assert [r["raw"] for r in rows if r["message_id"] == "bad"] == ['{"a": NaN}']
