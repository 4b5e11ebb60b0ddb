"""The session report in Polars: the `session_report` view's figures, plus time-of-use money.

Energy follows the end-register priority (analytics/session.py). With time-of-use bands the
session's register readings after its start are chained with the deltas stored at ingest, and
each delta belongs to the band at its reading, as in the rollups; where the session's energy
is not the chain's sum (a relative meterStop, a manual end reading) the split is scaled to it;
cost = round_half_up(Σ kWh_band × rate_band, 2).
Polars does the per-reading work; the per-session money and SOC go through the same Decimal
functions as everywhere else (cost.py, soc.py), so rounding happens in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from analytics.cost import DEFAULT_TAX_RATE, money
from analytics.session import end_register, session_energy_kwh
from analytics.soc import DEFAULT_KM_PER_KWH, charge_outcome
from analytics.tou import Band, bands_frame, in_band

WH = pl.Decimal(38, 3)
FLAT = -1  # the band index of energy outside every band: the tariff's own rate
HOUR_US = Decimal(3_600_000_000)
SESSION_COLUMNS = (
    "transaction_id",
    "charge_point_id",
    "connector_id",
    "id_tag",
    "orphan",
    "started_at",
    "stopped_at",
    "stop_reason",
    "meter_start_wh",
    "latest_register_wh",
    "latest_register_at",
)


@dataclass(frozen=True)
class Tariff:
    currency: str
    energy_rate: Decimal
    tax_rate: Decimal = DEFAULT_TAX_RATE
    bands: list[Band] = field(default_factory=list)

    def rate(self, band: int) -> Decimal:
        return self.energy_rate if band == FLAT else self.bands[band].rate


def _seconds_of_day(times: pl.Expr, tz: str) -> pl.Expr:
    local = times.dt.convert_time_zone(tz)
    return (
        local.dt.hour().cast(pl.Int64) * 3600
        + local.dt.minute().cast(pl.Int64) * 60
        + local.dt.second().cast(pl.Int64)
    )


def band_energy(chains: pl.DataFrame, bands: pl.DataFrame) -> pl.DataFrame:
    """chains (transaction_id, tariff_id, timezone, time, value, priority, and optionally
    delta): each session's register links; at equal times the lowest priority wins
    (meterStart/meterStop are also stored as readings). A link's energy is its ``delta`` where
    given, else its value minus the previous link's. → (transaction_id, band, energy_wh), band
    FLAT outside every band. A register that goes down adds 0, never negative energy."""
    if "delta" not in chains.columns:
        chains = chains.with_columns(delta=pl.lit(None, dtype=WH))
    links = (
        chains.sort("transaction_id", "time", "priority")
        .unique(["transaction_id", "time"], keep="first", maintain_order=True)
        .with_columns(
            energy_wh=pl.coalesce(
                "delta",
                (pl.col("value") - pl.col("value").shift(1).over("transaction_id")).clip(
                    lower_bound=0
                ),
            )
        )
        .filter(pl.col("energy_wh").is_not_null())
    )
    local = [
        part.with_columns(seconds=_seconds_of_day(pl.col("time"), part["timezone"][0]))
        for part in links.partition_by("timezone")
    ]
    if not local:
        return pl.DataFrame(schema={"transaction_id": pl.Int64, "band": pl.Int64, "energy_wh": WH})
    links = pl.concat(local)
    matched = (
        links.join(bands, on="tariff_id")
        .filter(in_band(pl.col("seconds"), pl.col("from_s"), pl.col("to_s")))
        .group_by("transaction_id", "time")
        .agg(band=pl.col("band").min())  # the first listed band wins
    )
    return (
        links.join(matched, on=["transaction_id", "time"], how="left")
        .with_columns(pl.col("band").fill_null(FLAT))
        .group_by("transaction_id", "band")
        .agg(pl.col("energy_wh").sum())
        .sort("transaction_id", "band")
    )


def _chains(sessions: pl.DataFrame, registers: pl.DataFrame) -> pl.DataFrame:
    """Each session's register links: its readings after the start up to its end, each with
    the delta stored at ingest. Stored deltas already measure a reading against the value
    before a drop (a session-relative meterStart or meterStop next to lifetime readings, a
    glitch) and hold suspect jumps back, which a chain of raw values cannot: 0 -> 1,234,100
    would be priced as 1,234,100 Wh. ``_reconciled`` makes the bands add up to the session's
    energy where its end register does not come from the chain."""
    keys = sessions.select("transaction_id", "tariff_id", "timezone", "started_at", "end_at")
    # meterStart leads the chain only for readings whose delta was never stored (rows put in
    # by hand): band_energy then measures them against the previous link, as before deltas.
    start = sessions.select(
        "transaction_id",
        "tariff_id",
        "timezone",
        time="started_at",
        value="meter_start_wh",
        delta=pl.lit(None, dtype=WH),
        priority=pl.lit(0),
    )
    inside = (
        registers.join(keys, on="transaction_id")
        .filter(
            (pl.col("time") > pl.col("started_at"))
            & (pl.col("end_at").is_null() | (pl.col("time") <= pl.col("end_at")))
        )
        .select(
            "transaction_id", "tariff_id", "timezone", "time", "value", "delta", priority=pl.lit(1)
        )
    )
    return (
        pl.concat([start, inside], how="vertical_relaxed")
        .drop_nulls(["time", "value"])
        .filter(pl.col("tariff_id").is_not_null())
    )


def _reconciled(bands: dict[int, Decimal], energy_wh: Decimal) -> dict[int, Decimal]:
    """The chain's band split scaled to the session's energy. The two differ only where the
    end is not the chain's sum: a session-relative meterStop whose last Wh the next lifetime
    reading counts, or a manual reading; the split is the best evidence of when it flowed.
    Without a chain the energy is priced at the tariff's own rate."""
    chained = sum(bands.values(), Decimal(0))
    if chained == energy_wh:
        return bands
    if chained <= 0:
        return {FLAT: energy_wh}
    return {band: wh * energy_wh / chained for band, wh in bands.items()}


# What session_report returns, in order: the view's columns and time_of_use.
REPORT_COLUMNS = (
    *SESSION_COLUMNS,
    "meter_end_wh",
    "end_source",
    "energy_kwh",
    "currency",
    "energy_rate",
    "tax_rate",
    "cost",
    "tax",
    "total",
    "soc_change_pct",
    "range_added_km",
    "hours",
    "average_kw",
    "efficiency_pct",
    "time_of_use",
)


def _hours(row: dict) -> Decimal | None:
    until = row["stopped_at"] or row["latest_register_at"]
    if row["started_at"] is None or until is None:
        return None
    return Decimal((until - row["started_at"]).total_seconds() * 1_000_000) / HOUR_US


def _money(row: dict, energy_kwh: Decimal | None, tariff: Tariff | None, by_band: dict) -> dict:
    if tariff is None:
        return {"currency": None, "energy_rate": None, "tax_rate": None, "cost": None}
    money_row = {
        "currency": tariff.currency,
        "energy_rate": tariff.energy_rate,
        "tax_rate": tariff.tax_rate,
        "cost": None,
    }
    if energy_kwh is None:
        return money_row
    if tariff.bands:
        bands = _reconciled(by_band.get(row["transaction_id"], {}), energy_kwh * 1000)
        amount = sum((wh / 1000 * tariff.rate(band) for band, wh in bands.items()), Decimal(0))
    else:
        amount = energy_kwh * tariff.energy_rate
    money_row["cost"] = money(amount)
    return money_row


def _finish(row: dict, tariff: Tariff | None, by_band: dict) -> dict:
    end = end_register(
        row["meter_stop_wh"],
        row["latest_register_wh"],
        row["latest_register_at"],
        row["manual_meter_stop_wh"],
        row["stopped_at"],
    )
    energy = session_energy_kwh(row["meter_start_wh"], end, row.get("register_wh"))
    hours = _hours(row)
    out = {"meter_end_wh": end.wh, "end_source": end.source, "energy_kwh": energy}
    out |= _money(row, energy, tariff, by_band)
    cost = out["cost"]
    out["tax"] = money(cost * out["tax_rate"]) if cost is not None else None
    out["total"] = cost + out["tax"] if cost is not None else None
    outcome = (
        charge_outcome(
            energy,
            battery_kwh=row["battery_kwh"],
            km_per_kwh=row["km_per_kwh"] or DEFAULT_KM_PER_KWH,
            hours=hours,
            connector_max_kw=row["connector_max_kw"],
        )
        if energy is not None
        else None
    )
    out["soc_change_pct"] = outcome.soc_change_pct if outcome else None
    out["range_added_km"] = outcome.range_added_km if outcome else None
    out["hours"] = round(hours, 3) if hours is not None else None
    out["average_kw"] = outcome.average_kw if outcome else None
    out["efficiency_pct"] = outcome.efficiency_pct if outcome else None
    out["time_of_use"] = bool(tariff and tariff.bands)
    return {k: row[k] for k in SESSION_COLUMNS} | out


def session_report(
    transactions: pl.DataFrame,
    registers: pl.DataFrame,
    tariffs: dict[str, Tariff],
    vehicles: pl.DataFrame | None,
) -> pl.DataFrame:
    """transactions (the `report_transactions` query, with each one's latest register),
    registers (transaction_id, time, value: the connector's main register inside each; needed
    only for sessions on a time-of-use tariff), tariffs by id, vehicles (id_tag, battery_kwh,
    km_per_kwh; None when the transactions carry those two columns already) → one row per
    transaction with the `session_report` view's columns and
    ``time_of_use`` (whether the cost came from bands)."""
    sessions = transactions.lazy()
    if vehicles is not None:
        sessions = sessions.join(vehicles.lazy(), on="id_tag", how="left")
    sessions = (
        sessions.with_columns(
            # The same priority as end_register, as columns, to place the chain's last link.
            meter_end_wh=pl.coalesce("meter_stop_wh", "latest_register_wh"),
            end_at=pl.when(pl.col("meter_stop_wh").is_not_null())
            .then(pl.col("stopped_at"))
            .otherwise(pl.col("latest_register_at")),
        )
        .sort("transaction_id")
        .collect()
    )
    banded = {k: t.bands for k, t in tariffs.items() if t.bands}
    by_band: dict[int, dict[int, Decimal]] = {}
    # A flat-rate page (one session's details, mostly) skips the per-reading work.
    banded_sessions = (
        sessions.filter(pl.col("tariff_id").is_in(list(banded))) if banded else sessions.clear()
    )
    if not banded_sessions.is_empty():
        chains = _chains(banded_sessions, registers)
        for r in band_energy(chains, bands_frame(banded)).iter_rows(named=True):
            by_band.setdefault(r["transaction_id"], {})[r["band"]] = r["energy_wh"]
    rows = [
        _finish(row, tariffs.get(row["tariff_id"]) if row["tariff_id"] else None, by_band)
        for row in sessions.iter_rows(named=True)
    ]
    if not rows:
        return pl.DataFrame({c: [] for c in REPORT_COLUMNS})
    return pl.DataFrame(rows, infer_schema_length=None)
