-- OCPP 2.0.1 beside 1.6 (issue 19): one endpoint negotiates either; each charge point's row
-- says which version it last booted with (NULL: it has not booted since).
ALTER TABLE wattline.charge_points
    ADD COLUMN ocpp_version text CHECK (ocpp_version IN ('1.6', '2.0.1'));
COMMENT ON COLUMN wattline.charge_points.ocpp_version IS
    'OCPP version the charge point last booted with over its WebSocket: 1.6 or 2.0.1';
