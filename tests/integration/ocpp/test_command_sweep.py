"""Operator commands nobody will finish are swept: `sent` by a process that died (past the
time-out plus the sweep margin) becomes timed_out, `requested` for a charge point that has not
been heard from for the expiry fails; what a live process is still waiting on is left to it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action
from ocpp_support import TEST_CONFIG, charge_point, eventually, execute, query, running

from analytics import jobs
from sql import db

# Time-out 2 s: a sent command is the sender's for 2 + 30 (the margin) = 32 s. Expiry 600 s.
CONFIG = replace(TEST_CONFIG, command_timeout_s=2, command_sweep_interval_s=3600)


class SlowWallbox(ChargePoint):
    @on(Action.change_availability)
    async def on_change_availability(self, **kwargs) -> call_result.ChangeAvailability:
        await asyncio.sleep(60)  # never answers in time
        return call_result.ChangeAvailability(status="Accepted")


LEFT_BEHIND = """
INSERT INTO wattline.charge_points (id, last_seen_at) VALUES
    ('CP-GONE', now() - interval '1 hour'),   -- its process was killed mid-command
    ('CP-AWAY', now() - interval '1 hour'),   -- unplugged from the network
    ('CP-QUIET', now() - interval '2 minutes'),  -- connected somewhere, between heartbeats
    ('CP-NEW', NULL);                         -- never connected
INSERT INTO wattline.commands (charge_point_id, action, status, requested_at, sent_at) VALUES
    ('CP-GONE', 'Reset', 'sent', now() - interval '41 seconds', now() - interval '40 seconds'),
    ('CP-GONE', 'Reset', 'sent', now() - interval '21 seconds', now() - interval '20 seconds'),
    ('CP-AWAY', 'Reset', 'requested', now() - interval '11 minutes', NULL),
    ('CP-AWAY', 'Reset', 'requested', now() - interval '5 minutes', NULL),
    ('CP-QUIET', 'Reset', 'requested', now() - interval '11 minutes', NULL),
    ('CP-NEW', 'Reset', 'requested', now() - interval '11 minutes', NULL);
"""


async def test_commands_left_by_a_dead_process_are_swept_and_live_ones_are_not(
    db_url, tmp_path: Path
):
    async with running(replace(CONFIG, spool_path=tmp_path / "spool"), db_url) as central:
        await eventually(central.commands.listening.is_set)
        execute(db_url, "INSERT INTO wattline.charge_points (id) VALUES ('CP-LIVE')")
        async with charge_point(central, "CP-LIVE", SlowWallbox):
            execute(
                db_url,
                "INSERT INTO wattline.commands (charge_point_id, action, payload)"
                " VALUES ('CP-LIVE', 'ChangeAvailability', "
                """'{"connectorId": 0, "type": "Inoperative"}')""",
            )
            await eventually(
                lambda: query(db_url, "SELECT 1 FROM wattline.commands WHERE status = 'sent'")
            )
            execute(db_url, LEFT_BEHIND)
            # This process and `wattline jobs` sweep at the same moment: each row goes once.
            with db.connect(db_url, autocommit=True) as conn:
                done, by_central = await asyncio.gather(
                    asyncio.to_thread(jobs.run_once, conn), central.commands.sweep()
                )
            assert done["commands timed out (sender gone)"] + by_central["timed_out"] == 1
            assert done["commands expired"] + by_central["expired"] == 2
            rows = query(
                db_url,
                "SELECT charge_point_id, status, error FROM wattline.commands ORDER BY id",
            )
            assert [(r["charge_point_id"], r["status"]) for r in rows] == [
                ("CP-LIVE", "sent"),  # its sender is alive and waits 2 s: untouched
                ("CP-GONE", "timed_out"),  # sent 40 s ago > 32 s
                ("CP-GONE", "sent"),  # sent 20 s ago: its sender may still write the answer
                ("CP-AWAY", "failed"),  # requested 11 min ago, silent for an hour
                ("CP-AWAY", "requested"),  # requested 5 min ago: may still come back
                ("CP-QUIET", "requested"),  # heard from 2 min ago: its process sends it
                ("CP-NEW", "failed"),  # never connected, requested 11 min ago
            ]
            assert rows[1]["error"] == (
                "no answer recorded within 32 s of sending: the process that sent it stopped"
                " or lost the database (swept)"
            )
            assert (
                rows[3]["error"]
                == rows[6]["error"]
                == ("expired: charge point not connected for 600 s after the request")
            )
            # The live process writes its own time-out, as it would have without any sweep.
            (live,) = await eventually(
                lambda: query(
                    db_url,
                    "SELECT status, error FROM wattline.commands"
                    " WHERE charge_point_id = 'CP-LIVE' AND status <> 'sent'",
                )
            )
            assert live == {"status": "timed_out", "error": "no answer within 2 s"}
        assert (await central.commands.sweep()) == {"timed_out": 0, "expired": 0}


def _timed_out(db_url: str, count: int) -> list[dict] | None:
    rows = query(
        db_url,
        "SELECT extract(epoch FROM sent_at) AS sent FROM wattline.commands"
        " WHERE status = 'timed_out' ORDER BY id",
    )
    return rows if len(rows) == count else None


async def test_a_command_queued_behind_a_slow_one_is_stamped_sent_when_it_leaves(
    db_url, tmp_path: Path
):
    async with running(replace(CONFIG, spool_path=tmp_path / "spool"), db_url) as central:
        await eventually(central.commands.listening.is_set)
        execute(
            db_url,
            "INSERT INTO wattline.charge_points (id) VALUES ('CP-LIVE');"
            "INSERT INTO wattline.commands (charge_point_id, action, payload) VALUES"
            """ ('CP-LIVE', 'ChangeAvailability', '{"connectorId": 0, "type": "Inoperative"}'),"""
            """ ('CP-LIVE', 'ChangeAvailability', '{"connectorId": 1, "type": "Inoperative"}')""",
        )
        async with charge_point(central, "CP-LIVE", SlowWallbox):
            rows = await eventually(lambda: _timed_out(db_url, 2), timeout=10)
    # The second went out after the first's 2 s time-out, and its sent_at says so: a sweep
    # counts each command's time-out from when it left, not from when both were queued.
    assert rows[1]["sent"] - rows[0]["sent"] >= 2
