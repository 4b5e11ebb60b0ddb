"""What a simulated charger says, in OCPP 1.6 or 2.0.1 (ingest/ocpp/simulator.py drives both).

The simulator's charger decides what happens (when a session starts, how much energy flows);
a dialect turns each step into the version's messages: StartTransaction / MeterValues /
StopTransaction in 1.6, TransactionEvent Started / Updated / Ended (with a seqNo, the
transactionId a string the station picks) in 2.0.1. Both report the same readings, so a fleet
of either version fills the same sessions and rollups.
"""

from __future__ import annotations

from typing import Any, Protocol

from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201

VOLTAGE_V = 230
# 1.6's connector states as 2.0.1 reports them (it has fewer: the session's progress goes in
# TransactionEvents instead).
STATUS_201 = {"Available": "Available", "Preparing": "Occupied", "Charging": "Occupied",
              "Faulted": "Faulted"}  # fmt: skip


class Owner(Protocol):
    """The simulated charger a station's operator commands go to."""

    def request_start(self, id_tag: str, connector_id: int | None) -> bool: ...

    def request_stop(self, transaction_id: Any) -> bool: ...


class Reading:
    """One sample of the meter: the register, power, current and the car's SOC."""

    def __init__(self, at: str, register_wh: float, power_kw: float, soc: float) -> None:
        self.at, self.register_wh, self.power_kw, self.soc = at, register_wh, power_kw, soc


class Station16(ChargePoint16):
    """Answers operator commands as a well-behaved 1.6 charger would."""

    def __init__(self, identity: str, connection, owner: Owner) -> None:
        super().__init__(identity, connection)
        self.connection = connection  # the library's own attribute is private
        self.owner = owner

    @on(Action16.reset)
    def on_reset(self, **kwargs) -> result16.Reset:
        return result16.Reset(status="Accepted")

    @on(Action16.remote_start_transaction)
    def on_remote_start(self, id_tag: str, connector_id: int | None = None, **kwargs):
        accepted = self.owner.request_start(id_tag, connector_id)
        return result16.RemoteStartTransaction(status="Accepted" if accepted else "Rejected")

    @on(Action16.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int, **kwargs):
        accepted = self.owner.request_stop(transaction_id)
        return result16.RemoteStopTransaction(status="Accepted" if accepted else "Rejected")

    @on(Action16.unlock_connector)
    def on_unlock(self, **kwargs) -> result16.UnlockConnector:
        return result16.UnlockConnector(status="Unlocked")

    @on(Action16.change_availability)
    def on_availability(self, **kwargs) -> result16.ChangeAvailability:
        return result16.ChangeAvailability(status="Accepted")

    @on(Action16.change_configuration)
    def on_change_configuration(self, **kwargs) -> result16.ChangeConfiguration:
        return result16.ChangeConfiguration(status="Accepted")

    @on(Action16.get_configuration)
    def on_get_configuration(self, **kwargs) -> result16.GetConfiguration:
        return result16.GetConfiguration(configuration_key=[])

    @on(Action16.trigger_message)
    def on_trigger(self, **kwargs) -> result16.TriggerMessage:
        return result16.TriggerMessage(status="Accepted")


class Station201(ChargePoint201):
    """Answers operator commands as a well-behaved 2.0.1 station would."""

    def __init__(self, identity: str, connection, owner: Owner) -> None:
        super().__init__(identity, connection)
        self.connection = connection
        self.owner = owner

    @on(Action201.request_start_transaction)
    def on_request_start(self, id_token: dict, remote_start_id: int, **kwargs):
        accepted = self.owner.request_start(id_token["id_token"], kwargs.get("evse_id"))
        return result201.RequestStartTransaction(status="Accepted" if accepted else "Rejected")

    @on(Action201.request_stop_transaction)
    def on_request_stop(self, transaction_id: str, **kwargs):
        accepted = self.owner.request_stop(transaction_id)
        return result201.RequestStopTransaction(status="Accepted" if accepted else "Rejected")

    @on(Action201.reset)
    def on_reset(self, **kwargs) -> result201.Reset:
        return result201.Reset(status="Accepted")

    @on(Action201.unlock_connector)
    def on_unlock(self, **kwargs) -> result201.UnlockConnector:
        return result201.UnlockConnector(status="Unlocked")

    @on(Action201.change_availability)
    def on_availability(self, **kwargs) -> result201.ChangeAvailability:
        return result201.ChangeAvailability(status="Accepted")

    @on(Action201.trigger_message)
    def on_trigger(self, **kwargs) -> result201.TriggerMessage:
        return result201.TriggerMessage(status="Accepted")

    @on(Action201.get_base_report)
    def on_get_base_report(self, **kwargs) -> result201.GetBaseReport:
        return result201.GetBaseReport(status="Accepted")

    @on(Action201.get_variables)
    def on_get_variables(self, get_variable_data: list, **kwargs) -> result201.GetVariables:
        unknown = [
            {"attributeStatus": "UnknownVariable", "component": d["component"],
             "variable": d["variable"]}
            for d in get_variable_data
        ]  # fmt: skip
        return result201.GetVariables(get_variable_result=unknown)

    @on(Action201.set_variables)
    def on_set_variables(self, set_variable_data: list, **kwargs) -> result201.SetVariables:
        rejected = [
            {"attributeStatus": "Rejected", "component": d["component"], "variable": d["variable"]}
            for d in set_variable_data
        ]
        return result201.SetVariables(set_variable_result=rejected)


class Dialect16:
    subprotocol = "ocpp1.6"
    station = Station16

    def __init__(self, identity: str) -> None:
        self.identity = identity

    def boot(self) -> Any:
        return call16.BootNotification("Simulated AC", "wattline", firmware_version="1.0")

    def heartbeat(self) -> Any:
        return call16.Heartbeat()

    def status(self, state: str, at: str, error: str = "NoError") -> Any:
        return call16.StatusNotification(1, error, state, timestamp=at)

    def authorize(self, id_tag: str) -> Any:
        return call16.Authorize(id_tag)

    async def start(self, cp: Any, id_tag: str, register_wh: float, at: str) -> Any:
        started = await cp.call(call16.StartTransaction(1, id_tag, round(register_wh), at))
        return started.transaction_id

    def meter(self, transaction: Any, r: Reading) -> Any:
        values = [
            {"value": f"{r.register_wh:.0f}", "unit": "Wh"},
            {"value": f"{r.power_kw:.2f}", "measurand": "Power.Active.Import", "unit": "kW"},
            {"value": f"{r.power_kw * 1000 / VOLTAGE_V:.1f}", "measurand": "Current.Import",
             "phase": "L1", "unit": "A"},
            {"value": f"{r.soc:.0f}", "measurand": "SoC", "location": "EV"},
        ]  # fmt: skip
        return call16.MeterValues(1, [{"timestamp": r.at, "sampledValue": values}], transaction)

    def stop(self, transaction: Any, register_wh: float, at: str, reason: str) -> Any:
        return call16.StopTransaction(round(register_wh), at, transaction, reason=reason)


class Dialect201:
    subprotocol = "ocpp2.0.1"
    station = Station201

    def __init__(self, identity: str) -> None:
        self.identity = identity
        self.sessions = 0
        self.seq = 0

    def boot(self) -> Any:
        station = {"model": "Simulated AC", "vendor_name": "wattline", "firmware_version": "1.0"}
        return call201.BootNotification(charging_station=station, reason="PowerUp")

    def heartbeat(self) -> Any:
        return call201.Heartbeat()

    def status(self, state: str, at: str, error: str = "NoError") -> Any:
        return call201.StatusNotification(at, STATUS_201[state], evse_id=1, connector_id=1)

    def authorize(self, id_tag: str) -> Any:
        return call201.Authorize(id_token={"idToken": id_tag, "type": "ISO14443"})

    def _event(self, kind: str, tx: str, at: str, trigger: str, **extra: Any) -> Any:
        info = {"transactionId": tx} | extra.pop("info", {})
        event = call201.TransactionEvent(
            event_type=kind, timestamp=at, trigger_reason=trigger, seq_no=self.seq,
            transaction_info=info, **extra,
        )  # fmt: skip
        self.seq += 1
        return event

    @staticmethod
    def _register(at: str, wh: float, context: str) -> list[dict]:
        sampled = {
            "value": round(wh),
            "context": context,
            "measurand": "Energy.Active.Import.Register",
            "unitOfMeasure": {"unit": "Wh"},
        }
        return [{"timestamp": at, "sampledValue": [sampled]}]  # fmt: skip

    async def start(self, cp: Any, id_tag: str, register_wh: float, at: str) -> Any:
        self.sessions += 1
        self.seq = 0
        tx = f"{self.identity}-{self.sessions:06d}"
        await cp.call(
            self._event("Started", tx, at, "Authorized",
                        evse={"id": 1, "connectorId": 1},
                        id_token={"idToken": id_tag, "type": "ISO14443"},
                        meter_value=self._register(at, register_wh, "Transaction.Begin"))
        )  # fmt: skip
        return tx

    def meter(self, transaction: Any, r: Reading) -> Any:
        values = [
            {"value": round(r.register_wh), "measurand": "Energy.Active.Import.Register",
             "unitOfMeasure": {"unit": "Wh"}},
            {"value": round(r.power_kw, 2), "measurand": "Power.Active.Import",
             "unitOfMeasure": {"unit": "kW"}},
            {"value": round(r.power_kw * 1000 / VOLTAGE_V, 1), "measurand": "Current.Import",
             "phase": "L1", "unitOfMeasure": {"unit": "A"}},
            {"value": round(r.soc), "measurand": "SoC", "location": "EV",
             "unitOfMeasure": {"unit": "Percent"}},
        ]  # fmt: skip
        return self._event(
            "Updated", transaction, r.at, "MeterValuePeriodic",
            meter_value=[{"timestamp": r.at, "sampledValue": values}],
        )  # fmt: skip

    def stop(self, transaction: Any, register_wh: float, at: str, reason: str) -> Any:
        return self._event(
            "Ended", transaction, at, "RemoteStop" if reason == "Remote" else "EVCommunicationLost",
            info={"stoppedReason": reason},
            meter_value=self._register(at, register_wh, "Transaction.End"),
        )  # fmt: skip


def dialect(version: str, identity: str) -> Dialect16 | Dialect201:
    if version == "2.0.1":
        return Dialect201(identity)
    if version == "1.6":
        return Dialect16(identity)
    raise ValueError(f"OCPP version must be 1.6 or 2.0.1, not {version!r}")
