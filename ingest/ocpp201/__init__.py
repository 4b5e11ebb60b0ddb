"""The OCPP 2.0.1 central system: the handlers a charging station speaking ``ocpp2.0.1`` gets,
on the same wire, service and writer as 1.6 (ingest.ocpp)."""
