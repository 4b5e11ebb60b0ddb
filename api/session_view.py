"""A row of the session report (analytics/session_report.py, the CLI's report) in the shape of
seed 000's ChargingSessionDetails, with the end register's source told as it is."""

from __future__ import annotations

from decimal import Decimal

from analytics.cost import kwh_from_wh

UNUSED_REGISTER = "no MeterValues after the start"


def status(row: dict) -> str:
    if row["orphan"]:
        return "orphan"
    return "open" if row["stopped_at"] is None else "closed"


def _kwh(wh: Decimal | None) -> Decimal | None:
    return None if wh is None else kwh_from_wh(wh)


def data_source(row: dict) -> dict:
    """Which of meterStop, the connector's register and the manual reading gave the end, and
    "EndMeter = StartMeter" flagged where the end equals the start (nothing measured)."""
    source = row["end_source"]
    register = _kwh(row["latest_register_wh"])
    same = (
        row["meter_end_wh"] is not None
        and row["meter_start_wh"] is not None
        and Decimal(row["meter_end_wh"]) == Decimal(row["meter_start_wh"])
    )
    warning = None
    if same:
        warning = (
            "EndMeter = StartMeter: no energy measured. Check the charge point's MeterValues "
            "(connector meter-status) or give a manual reading."
        )
    elif source == "none":
        warning = "no end register yet: no meterStop, no MeterValues, no manual reading"
    return {
        "endSource": source,
        "transactionUsed": source == "meter_stop",
        "connectorMeterUsed": source == "connector_register",
        "manualReadingUsed": source == "manual",
        "connectorMeterValue": f"{register} kWh" if register is not None else UNUSED_REGISTER,
        "connectorMeterTime": row["latest_register_at"],
        "endMeterEqualsStartMeter": same,
        "warning": warning,
    }


def description(soc: Decimal | None, range_km: int | None) -> str | None:
    if soc is not None:
        return f"Battery charged by {soc}% (~{range_km} km range added)"
    if range_km is not None:
        return f"~{range_km} km range added (battery capacity unknown)"
    return None


def summary(row: dict) -> dict:
    return {
        "transactionId": row["transaction_id"],
        "chargePointId": row["charge_point_id"],
        "connectorId": row["connector_id"],
        "idTag": row["id_tag"],
        "status": status(row),
        "startedAt": row["started_at"],
        "stoppedAt": row["stopped_at"],
        "energyKwh": row["energy_kwh"],
        "endSource": row["end_source"],
        "currency": row["currency"],
        "total": row["total"],
    }


def details(row: dict) -> dict:
    return summary(row) | {
        "stopReason": row["stop_reason"],
        "meterStart": _kwh(row["meter_start_wh"]),
        "meterStop": _kwh(row["meter_end_wh"]),
        "energyConsumption": {"totalEnergy": row["energy_kwh"], "unit": "kWh"},
        "cost": {
            "currency": row["currency"],
            "energyRate": row["energy_rate"],
            "taxRate": row["tax_rate"],
            "cost": row["cost"],
            "tax": row["tax"],
            "total": row["total"],
            "timeOfUse": row["time_of_use"],
        },
        "stateOfCharge": {
            "socChangePercentage": row["soc_change_pct"],
            "estimatedRangeAdded": row["range_added_km"],
            "description": description(row["soc_change_pct"], row["range_added_km"]),
        },
        "chargingPerformance": {
            "averageChargingSpeed": row["average_kw"],
            "chargingEfficiency": row["efficiency_pct"],
            "durationHours": row["hours"],
            "unit": "kW",
        },
        "dataSource": data_source(row),
    }
