-- A session's end register (issue 16, item 5). meterStart is stored as a main-register reading
-- at the session's start (ingest/ocpp/service.py), and latest_main_register (0014) looked from
-- the start time inclusive, so an open session without MeterValues found meterStart itself:
-- end_source 'connector_register', energy 0 kWh, and the manual reading never reached. The
-- priority is meterStop, then a connector reading later than the start, then the manual
-- reading; the function now looks strictly after the start. The session_report view and the
-- report_transactions query call it, so both follow with no change of their own.
CREATE OR REPLACE FUNCTION wattline.latest_main_register(
    p_charge_point_id text, p_connector_id integer, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (value numeric, "time" timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT m.value, m.time FROM wattline.meter_values m
     WHERE m.charge_point_id = p_charge_point_id AND m.connector_id = p_connector_id
       AND m.measurand = 'Energy.Active.Import.Register' AND m.phase = ''
       AND m.location = 'Outlet'
       AND m.time > p_from AND m.time <= coalesce(p_to, 'infinity')
     ORDER BY m.time DESC LIMIT 1
$$;
