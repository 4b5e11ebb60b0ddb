-- The SQL interface describes itself: every reporting view and rollup, and each of their
-- columns, carries a comment with its meaning and unit, so an analyst in psql (\d+), Grafana,
-- Metabase or DBeaver sees what a figure is without this repository. docs/sql.md is generated
-- from these comments (python -m sql.docs) and a test fails when it is stale.
-- COMMENT ON COLUMN works on tables and views alike; the relation itself needs the word that
-- matches its kind, which differs by storage profile (rollups are tables on postgres and
-- continuous aggregates, i.e. views, on TimescaleDB).
CREATE FUNCTION wattline_admin.comment_relation(relation regclass, body text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COMMENT ON %s %s IS %L',
                   CASE (SELECT relkind FROM pg_class WHERE oid = relation)
                       WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                   relation, body);
END $$;

-- Rollups ---------------------------------------------------------------------------------------
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES ('connector_energy_hourly', 'hour'),
                                   ('connector_energy_daily', 'UTC day')) AS v (name, width)
    LOOP
        PERFORM wattline_admin.comment_relation(format('wattline.%I', r.name)::regclass, format(
            'Energy delivered per connector and %s, from the Energy.Active.Import.Register '
            'readings at the outlet: the sum of each reading''s delta, so buckets add up exactly '
            'to longer spans and a register reset adds 0. One row per bucket with readings.',
            r.width));
        EXECUTE format($c$
            COMMENT ON COLUMN wattline.%1$I.bucket IS 'Start of the %2$s (timestamptz, UTC edges); the energy of a reading belongs to its bucket';
            COMMENT ON COLUMN wattline.%1$I.charge_point_id IS 'OCPP identity of the charge point';
            COMMENT ON COLUMN wattline.%1$I.connector_id IS 'Connector number (1, 2, ...; 0 is the whole charge point)';
            COMMENT ON COLUMN wattline.%1$I.energy_wh IS 'Energy delivered in the bucket, Wh (sum of register deltas; suspect deltas held out until accepted)';
            COMMENT ON COLUMN wattline.%1$I.register_wh IS 'Last register reading in the bucket, Wh (the meter''s lifetime counter)';
            COMMENT ON COLUMN wattline.%1$I.readings IS 'Number of register readings in the bucket';
        $c$, r.name, r.width);
    END LOOP;

    FOR r IN SELECT * FROM (VALUES ('meter_energy_5m', '5 minutes'), ('meter_energy_hourly', 'hour'),
                                   ('meter_energy_daily', 'UTC day')) AS v (name, width)
    LOOP
        PERFORM wattline_admin.comment_relation(format('wattline.%I', r.name)::regclass, format(
            'Energy imported and exported per smart meter element and %s: sums of register '
            'deltas, so buckets add up exactly and a reset adds 0.', r.width));
        EXECUTE format($c$
            COMMENT ON COLUMN wattline.%1$I.bucket IS 'Start of the %2$s (timestamptz, UTC edges)';
            COMMENT ON COLUMN wattline.%1$I.meter_id IS 'Meter (meter_registry.id)';
            COMMENT ON COLUMN wattline.%1$I.element IS 'Meter element: A, B or SINGLE';
            COMMENT ON COLUMN wattline.%1$I.import_wh IS 'Energy imported from the grid in the bucket, Wh';
            COMMENT ON COLUMN wattline.%1$I.export_wh IS 'Energy exported to the grid in the bucket, Wh';
            COMMENT ON COLUMN wattline.%1$I.import_register_wh IS 'Last import register reading in the bucket, Wh (lifetime counter)';
            COMMENT ON COLUMN wattline.%1$I.export_register_wh IS 'Last export register reading in the bucket, Wh (lifetime counter)';
            COMMENT ON COLUMN wattline.%1$I.readings IS 'Number of register readings in the bucket';
        $c$, r.name, r.width);
    END LOOP;
END $$;

SELECT wattline_admin.comment_relation('wattline.prepay_balance_daily',
    'Prepayment credit balance per meter and UTC day: lowest, highest, mean and last reported.');
COMMENT ON COLUMN wattline.prepay_balance_daily.bucket IS 'Start of the UTC day (timestamptz)';
COMMENT ON COLUMN wattline.prepay_balance_daily.meter_id IS 'Meter (meter_registry.id)';
COMMENT ON COLUMN wattline.prepay_balance_daily.min_balance IS 'Lowest balance reported that day, in the meter''s currency';
COMMENT ON COLUMN wattline.prepay_balance_daily.max_balance IS 'Highest balance reported that day, in the meter''s currency';
COMMENT ON COLUMN wattline.prepay_balance_daily.mean_balance IS 'Mean of the balances reported that day (unweighted), in the meter''s currency';
COMMENT ON COLUMN wattline.prepay_balance_daily.last_balance IS 'Last balance reported that day, in the meter''s currency';
COMMENT ON COLUMN wattline.prepay_balance_daily.last_emergency_credit IS 'Emergency credit in use at the last report that day, in the meter''s currency';
COMMENT ON COLUMN wattline.prepay_balance_daily.readings IS 'Number of balance reports that day';

-- Charging views --------------------------------------------------------------------------------
SELECT wattline_admin.comment_relation('wattline.session_report',
    'One row per charging session (OCPP transaction) with energy, cost, tax, SOC change, range '
    'and efficiency, by the definitions in docs/architecture.md. end_source says which reading '
    'ended the session.');
COMMENT ON COLUMN wattline.session_report.transaction_id IS 'Transaction id issued by the central system';
COMMENT ON COLUMN wattline.session_report.charge_point_id IS 'OCPP identity of the charge point';
COMMENT ON COLUMN wattline.session_report.connector_id IS 'Connector number';
COMMENT ON COLUMN wattline.session_report.id_tag IS 'RFID or app token that started the session';
COMMENT ON COLUMN wattline.session_report.orphan IS 'True for a StopTransaction whose start was never received';
COMMENT ON COLUMN wattline.session_report.started_at IS 'Start time reported by the charger (timestamptz)';
COMMENT ON COLUMN wattline.session_report.stopped_at IS 'Stop time reported by the charger; NULL while charging';
COMMENT ON COLUMN wattline.session_report.stop_reason IS 'OCPP stop reason (Local, Remote, EVDisconnected, ...)';
COMMENT ON COLUMN wattline.session_report.meter_start_wh IS 'Register at the start (meterStart), Wh';
COMMENT ON COLUMN wattline.session_report.meter_end_wh IS 'Register at the end by priority meterStop, latest connector reading, manual reading; Wh';
COMMENT ON COLUMN wattline.session_report.end_source IS 'Which reading meter_end_wh is: meter_stop, connector_register, manual or none';
COMMENT ON COLUMN wattline.session_report.latest_register_wh IS 'Latest Energy.Active.Import.Register reading of the connector inside the session, Wh';
COMMENT ON COLUMN wattline.session_report.latest_register_at IS 'Time of that reading';
COMMENT ON COLUMN wattline.session_report.energy_kwh IS 'Energy delivered, kWh to 3 decimals (never negative)';
COMMENT ON COLUMN wattline.session_report.currency IS 'Currency of the connector''s tariff (ISO 4217)';
COMMENT ON COLUMN wattline.session_report.energy_rate IS 'Tariff rate, currency per kWh';
COMMENT ON COLUMN wattline.session_report.tax_rate IS 'Tax rate as a fraction (0.18 = 18 %)';
COMMENT ON COLUMN wattline.session_report.cost IS 'energy_kwh x energy_rate, rounded half-up to 2 decimals, in currency';
COMMENT ON COLUMN wattline.session_report.tax IS 'cost x tax_rate, rounded half-up to 2 decimals, in currency';
COMMENT ON COLUMN wattline.session_report.total IS 'cost + tax, in currency';
COMMENT ON COLUMN wattline.session_report.soc_change_pct IS 'State-of-charge change, % of the vehicle''s battery (1 decimal); NULL without a vehicle';
COMMENT ON COLUMN wattline.session_report.range_added_km IS 'Range added, km (energy x the vehicle''s km per kWh, default 4.5)';
COMMENT ON COLUMN wattline.session_report.hours IS 'Hours charging, start to stop (or to the latest reading while open)';
COMMENT ON COLUMN wattline.session_report.average_kw IS 'Average power, kW (energy / hours, 2 decimals)';
COMMENT ON COLUMN wattline.session_report.efficiency_pct IS 'Average power as % of the connector''s max_power_kw (1 decimal)';

SELECT wattline_admin.comment_relation('wattline.charger_summary',
    'One row per charge point: sessions and energy so far, last stop, last fault.');
COMMENT ON COLUMN wattline.charger_summary.charge_point_id IS 'OCPP identity of the charge point';
COMMENT ON COLUMN wattline.charger_summary.vendor IS 'Vendor from its BootNotification';
COMMENT ON COLUMN wattline.charger_summary.model IS 'Model from its BootNotification';
COMMENT ON COLUMN wattline.charger_summary.site IS 'Site it belongs to (set by an operator)';
COMMENT ON COLUMN wattline.charger_summary.registration_status IS 'Accepted, Pending or Rejected (BootNotification answer)';
COMMENT ON COLUMN wattline.charger_summary.last_seen_at IS 'Last message from the charge point (timestamptz)';
COMMENT ON COLUMN wattline.charger_summary.sessions IS 'Number of sessions';
COMMENT ON COLUMN wattline.charger_summary.energy_kwh IS 'Energy delivered over all sessions, kWh';
COMMENT ON COLUMN wattline.charger_summary.last_stop_at IS 'End of the latest finished session';
COMMENT ON COLUMN wattline.charger_summary.last_error_code IS 'Latest OCPP error code other than NoError';
COMMENT ON COLUMN wattline.charger_summary.last_error_at IS 'Time of that error';

SELECT wattline_admin.comment_relation('wattline.connector_meter_status',
    'One row per connector: its latest register reading and how fresh it is, and the open '
    'session''s energy, estimated cost and duration so far.');
COMMENT ON COLUMN wattline.connector_meter_status.charge_point_id IS 'OCPP identity of the charge point';
COMMENT ON COLUMN wattline.connector_meter_status.connector_id IS 'Connector number (0 is the whole charge point)';
COMMENT ON COLUMN wattline.connector_meter_status.status IS 'Latest OCPP status (Available, Charging, Faulted, ...)';
COMMENT ON COLUMN wattline.connector_meter_status.meter_kwh IS 'Latest register reading, kWh (lifetime counter)';
COMMENT ON COLUMN wattline.connector_meter_status.meter_at IS 'Time of that reading';
COMMENT ON COLUMN wattline.connector_meter_status.meter_age IS 'Age of that reading (interval)';
COMMENT ON COLUMN wattline.connector_meter_status.freshness IS 'good (< 2 min), warning (2-5 min), stale (> 5 min) or never';
COMMENT ON COLUMN wattline.connector_meter_status.transaction_id IS 'Open session on the connector, if any';
COMMENT ON COLUMN wattline.connector_meter_status.started_at IS 'Start of the open session';
COMMENT ON COLUMN wattline.connector_meter_status.energy_since_start_kwh IS 'Energy of the open session so far, kWh';
COMMENT ON COLUMN wattline.connector_meter_status.estimated_cost IS 'That energy x the connector''s tariff rate, before tax, in currency';
COMMENT ON COLUMN wattline.connector_meter_status.currency IS 'Currency of the connector''s tariff';
COMMENT ON COLUMN wattline.connector_meter_status.duration IS 'Time since the open session started (interval)';

SELECT wattline_admin.comment_relation('wattline.meter_values_quality',
    'Every charger meter value with a quality flag: ok; suspect (a delta above what the '
    'connector could deliver, held out of the energy until an operator accepts it); accepted; '
    'reset (the register went down: adds 0); future_timestamp; outside_transaction.');
COMMENT ON COLUMN wattline.meter_values_quality.time IS 'Sample time reported by the charger';
COMMENT ON COLUMN wattline.meter_values_quality.received_at IS 'Time the central system received it';
COMMENT ON COLUMN wattline.meter_values_quality.charge_point_id IS 'OCPP identity of the charge point';
COMMENT ON COLUMN wattline.meter_values_quality.connector_id IS 'Connector number';
COMMENT ON COLUMN wattline.meter_values_quality.transaction_id IS 'Session the value was sent in, if any';
COMMENT ON COLUMN wattline.meter_values_quality.measurand IS 'OCPP measurand (Energy.Active.Import.Register, Power.Active.Import, SoC, ...)';
COMMENT ON COLUMN wattline.meter_values_quality.phase IS 'Phase (L1, L2, L3, N, ...); empty for all phases';
COMMENT ON COLUMN wattline.meter_values_quality.location IS 'Measurement location (Outlet, Inlet, EV, ...)';
COMMENT ON COLUMN wattline.meter_values_quality.unit IS 'Base unit of value after normalising (Wh, W, A, V, Percent, ...)';
COMMENT ON COLUMN wattline.meter_values_quality.value IS 'Value in the base unit';
COMMENT ON COLUMN wattline.meter_values_quality.delta IS 'Register measurands: energy since the previous reading, Wh';
COMMENT ON COLUMN wattline.meter_values_quality.quality IS 'ok, suspect, accepted, reset, future_timestamp or outside_transaction';

SELECT wattline_admin.comment_relation('wattline.ocpp_log',
    'Every OCPP frame in and out, with secrets (AuthorizationKey, id tags) redacted.');
COMMENT ON COLUMN wattline.ocpp_log.time IS 'Time the frame was received or sent';
COMMENT ON COLUMN wattline.ocpp_log.charge_point_id IS 'OCPP identity of the charge point';
COMMENT ON COLUMN wattline.ocpp_log.direction IS 'in (from the charger) or out (to it)';
COMMENT ON COLUMN wattline.ocpp_log.message_type IS 'OCPP-J message type: 2 CALL, 3 CALLRESULT, 4 CALLERROR';
COMMENT ON COLUMN wattline.ocpp_log.message_id IS 'OCPP-J message id (pairs a CALL with its answer)';
COMMENT ON COLUMN wattline.ocpp_log.action IS 'OCPP action (BootNotification, MeterValues, ...)';
COMMENT ON COLUMN wattline.ocpp_log.payload IS 'Frame payload as JSON, redacted';
COMMENT ON COLUMN wattline.ocpp_log.raw IS 'The frame as text when it was not valid JSON, redacted';

SELECT wattline_admin.comment_relation('wattline.command_log',
    'Operator commands to charge points (RemoteStart, Reset, ...) and their answers, redacted.');
COMMENT ON COLUMN wattline.command_log.id IS 'Command id';
COMMENT ON COLUMN wattline.command_log.charge_point_id IS 'Charge point it was sent to';
COMMENT ON COLUMN wattline.command_log.action IS 'OCPP action';
COMMENT ON COLUMN wattline.command_log.payload IS 'Request payload as JSON, redacted';
COMMENT ON COLUMN wattline.command_log.status IS 'requested, sent, answered, failed or timed_out';
COMMENT ON COLUMN wattline.command_log.requested_by IS 'Operator who asked for it';
COMMENT ON COLUMN wattline.command_log.requested_at IS 'When it was asked for';
COMMENT ON COLUMN wattline.command_log.sent_at IS 'When the central system sent it';
COMMENT ON COLUMN wattline.command_log.answered_at IS 'When the charger answered';
COMMENT ON COLUMN wattline.command_log.response IS 'The charger''s answer as JSON, redacted';
COMMENT ON COLUMN wattline.command_log.error IS 'Why it failed, if it did';

-- Meter views -----------------------------------------------------------------------------------
SELECT wattline_admin.comment_relation('wattline.meters_low_balance',
    'Prepayment meters whose balance is below the low-balance threshold (setting '
    'wattline.low_balance_threshold, default 5.00).');
COMMENT ON COLUMN wattline.meters_low_balance.meter_id IS 'Meter (meter_registry.id)';
COMMENT ON COLUMN wattline.meters_low_balance.serial IS 'Meter serial number (its MQTT topic name)';
COMMENT ON COLUMN wattline.meters_low_balance.name IS 'Meter name';
COMMENT ON COLUMN wattline.meters_low_balance.balance IS 'Current credit balance, in the meter''s currency';
COMMENT ON COLUMN wattline.meters_low_balance.emergency_credit IS 'Emergency credit in use, in the meter''s currency';
COMMENT ON COLUMN wattline.meters_low_balance.balance_updated_at IS 'When the balance was reported';
COMMENT ON COLUMN wattline.meters_low_balance.threshold IS 'The threshold it is below, in currency';

SELECT wattline_admin.comment_relation('wattline.meters_offline_recently',
    'Active meters not heard from for longer than wattline.offline_after_minutes (default 60).');
COMMENT ON COLUMN wattline.meters_offline_recently.meter_id IS 'Meter (meter_registry.id)';
COMMENT ON COLUMN wattline.meters_offline_recently.serial IS 'Meter serial number';
COMMENT ON COLUMN wattline.meters_offline_recently.name IS 'Meter name';
COMMENT ON COLUMN wattline.meters_offline_recently.last_online IS 'Last message from the meter; NULL if never';
COMMENT ON COLUMN wattline.meters_offline_recently.offline_for IS 'Time since then (interval)';

SELECT wattline_admin.comment_relation('wattline.meter_burn_rate',
    'Prepayment meters: credit spent per day over the last wattline.burn_window_days (default '
    '7) and when the balance runs out at that rate.');
COMMENT ON COLUMN wattline.meter_burn_rate.meter_id IS 'Meter (meter_registry.id)';
COMMENT ON COLUMN wattline.meter_burn_rate.serial IS 'Meter serial number';
COMMENT ON COLUMN wattline.meter_burn_rate.name IS 'Meter name';
COMMENT ON COLUMN wattline.meter_burn_rate.balance IS 'Latest balance in the window, in currency';
COMMENT ON COLUMN wattline.meter_burn_rate.balance_at IS 'When it was reported';
COMMENT ON COLUMN wattline.meter_burn_rate.readings IS 'Balance reports in the window';
COMMENT ON COLUMN wattline.meter_burn_rate.spent IS 'Sum of the balance''s drops in the window (top-ups excluded), in currency';
COMMENT ON COLUMN wattline.meter_burn_rate.days_observed IS 'Days between the first and last report in the window';
COMMENT ON COLUMN wattline.meter_burn_rate.burn_per_day IS 'spent / days_observed, currency per day';
COMMENT ON COLUMN wattline.meter_burn_rate.days_until_empty IS 'Balance / burn_per_day, days (1 decimal); NULL when nothing is spent';
COMMENT ON COLUMN wattline.meter_burn_rate.runs_out_at IS 'balance_at + days_until_empty';

SELECT wattline_admin.comment_relation('wattline.meter_health_summary',
    'Signal quality (CSQ) and clock drift per meter over the last wattline.health_window_hours '
    '(default 24); CSQ below 10 is poor, drift above 60 s is flagged.');
COMMENT ON COLUMN wattline.meter_health_summary.meter_id IS 'Meter (meter_registry.id)';
COMMENT ON COLUMN wattline.meter_health_summary.serial IS 'Meter serial number';
COMMENT ON COLUMN wattline.meter_health_summary.name IS 'Meter name';
COMMENT ON COLUMN wattline.meter_health_summary.samples IS 'Health reports in the window';
COMMENT ON COLUMN wattline.meter_health_summary.latest_csq IS 'Latest signal quality, CSQ 0-31';
COMMENT ON COLUMN wattline.meter_health_summary.min_csq IS 'Lowest CSQ in the window';
COMMENT ON COLUMN wattline.meter_health_summary.mean_csq IS 'Mean CSQ in the window (1 decimal)';
COMMENT ON COLUMN wattline.meter_health_summary.poor_csq_samples IS 'Reports with CSQ below the poor limit';
COMMENT ON COLUMN wattline.meter_health_summary.poor_csq_pct IS 'Those as % of reports with a CSQ (1 decimal)';
COMMENT ON COLUMN wattline.meter_health_summary.latest_drift_s IS 'Latest clock difference, seconds (meter - server)';
COMMENT ON COLUMN wattline.meter_health_summary.max_abs_drift_s IS 'Largest absolute clock difference in the window, seconds';
COMMENT ON COLUMN wattline.meter_health_summary.drifted_samples IS 'Reports with drift above the limit';
COMMENT ON COLUMN wattline.meter_health_summary.csq_poor_now IS 'The latest report''s CSQ is poor';
COMMENT ON COLUMN wattline.meter_health_summary.drift_flagged_now IS 'The latest report''s drift is above the limit';

SELECT wattline_admin.comment_relation('wattline.meter_shadows_tariffs',
    'Each meter''s current state (balance, signal, clock) with its active and future tariff '
    'fields taken out of the tariff JSON. Rates are in the meter''s currency.');
COMMENT ON COLUMN wattline.meter_shadows_tariffs.id IS 'Meter (meter_registry.id)';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.balance IS 'Credit balance, in currency';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.emergency_credit IS 'Emergency credit in use, in currency';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.balance_updated_at IS 'When the balance was reported';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.tariffs_active IS 'Active tariff as reported (JSON)';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.tariffs_future IS 'Future tariff as reported (JSON)';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.csq IS 'Latest signal quality, CSQ 0-31';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.health IS 'Latest health status text';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.clock_time_diff_seconds IS 'Latest clock difference, seconds';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.voltage IS 'Latest supply voltage, V';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.health_updated_at IS 'When health was reported';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.last_seen_at IS 'Last message from the meter';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.updated_at IS 'Last change of this row';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.serial IS 'Meter serial number';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.name IS 'Meter name';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.active_standing_charge IS 'Active standing charge, currency per day';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.active_unit_rate_a IS 'Active unit rate of element A, currency per kWh';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.active_unit_rate_b IS 'Active unit rate of element B, currency per kWh';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.active_ecredit_availability IS 'Active emergency credit available, in currency';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.active_debt_recovery_rate IS 'Active debt recovery rate, currency per day';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.active_emergency_credit IS 'Active emergency credit limit, in currency';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.future_standing_charge IS 'Future standing charge, currency per day';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.future_unit_rate_a IS 'Future unit rate of element A, currency per kWh';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.future_unit_rate_b IS 'Future unit rate of element B, currency per kWh';
COMMENT ON COLUMN wattline.meter_shadows_tariffs.future_activation_datetime IS 'When the future tariff becomes active';

SELECT wattline_admin.comment_relation('wattline.register_readings_quality',
    'Every smart-meter register reading with a quality flag: ok; suspect (held out of the '
    'energy until an operator accepts it); accepted; reset (the register went down: adds 0); '
    'future_timestamp.');
COMMENT ON COLUMN wattline.register_readings_quality.time IS 'Reading time reported by the meter';
COMMENT ON COLUMN wattline.register_readings_quality.received_at IS 'Time ingest received it';
COMMENT ON COLUMN wattline.register_readings_quality.register_id IS 'Register (meter_registers.register_id)';
COMMENT ON COLUMN wattline.register_readings_quality.meter_id IS 'Meter (meter_registry.id)';
COMMENT ON COLUMN wattline.register_readings_quality.element IS 'Meter element: A, B or SINGLE';
COMMENT ON COLUMN wattline.register_readings_quality.import_wh IS 'Import register, Wh (lifetime counter)';
COMMENT ON COLUMN wattline.register_readings_quality.export_wh IS 'Export register, Wh (lifetime counter)';
COMMENT ON COLUMN wattline.register_readings_quality.delta_import_wh IS 'Energy imported since the previous reading, Wh';
COMMENT ON COLUMN wattline.register_readings_quality.delta_export_wh IS 'Energy exported since the previous reading, Wh';
COMMENT ON COLUMN wattline.register_readings_quality.quality IS 'ok, suspect, accepted, reset or future_timestamp';
