-- A small world for the dashboard tests, relative to now() so the default ranges (last 24
-- hours, last 7 days) hold it. Figures worked by hand: session 1 is 15.234 - 5.123 = 10.111 kWh
-- at 12.50 -> 126.39 + 22.75 = 149.14 INR (docs/architecture.md, "Definitions"). Energy in the
-- rollups: session 1's 11 deltas of 842.583 Wh + session 2's 3,000 Wh = 12,268.413 Wh.
INSERT INTO wattline.tariffs (id, currency, energy_rate, tax_rate) VALUES ('T1', 'INR', 12.50, 0.18);
INSERT INTO wattline.charge_points (id, vendor, model, registration_status, last_seen_at)
VALUES ('CP-1', 'ACME', 'Fast22', 'Accepted', now() - interval '20 seconds'),
       ('CP-2', 'ACME', 'Slow7', 'Accepted', now() - interval '2 hours');
INSERT INTO wattline.connectors (charge_point_id, connector_id, status, error_code, tariff_id,
                                 max_power_kw, last_meter_wh, last_meter_at) VALUES
    ('CP-1', 1, 'Available', 'NoError', 'T1', 22, 15234, now() - interval '2 hours'),
    ('CP-1', 2, 'Charging', 'NoError', 'T1', 22, 7000, now() - interval '30 seconds'),
    ('CP-2', 1, 'Faulted', 'GroundFailure', 'T1', 7, NULL, NULL);
INSERT INTO wattline.id_tags (id_tag) VALUES ('TAG1'), ('TAG2');
INSERT INTO wattline.vehicles (id_tag, battery_kwh) VALUES ('TAG2', 40);
INSERT INTO wattline.transactions
       (id, charge_point_id, connector_id, id_tag, meter_start_wh, started_at,
        meter_stop_wh, stopped_at) OVERRIDING SYSTEM VALUE VALUES
    (1, 'CP-1', 1, 'TAG1', 5123, now() - interval '3 hours', 15234, now() - interval '2 hours'),
    (2, 'CP-1', 2, 'TAG2', 4000, now() - interval '1 hour', NULL, NULL);
-- Energy register and power on CP-1 connector 1 every 5 minutes through session 1.
INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, transaction_id,
                                   measurand, unit, value, delta)
SELECT now() - interval '3 hours' + n * interval '5 minutes', 'CP-1', 1, 1, m,
       CASE WHEN m = 'Power.Active.Import' THEN 'W' ELSE 'Wh' END,
       CASE WHEN m = 'Power.Active.Import' THEN 11000 ELSE 5123 + n * 842.583 END,
       CASE WHEN m = 'Power.Active.Import' THEN NULL WHEN n = 0 THEN 0 ELSE 842.583 END
  FROM generate_series(0, 11) AS n
 CROSS JOIN (VALUES ('Energy.Active.Import.Register'), ('Power.Active.Import')) AS v (m);
-- Session 2 (open) on CP-1 connector 2: meterStart 4000 Wh stored as its first register reading,
-- as the ingest does, and the latest register 30 s ago: 7.000 - 4.000 = 3.000 kWh so far.
INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, transaction_id,
                                   measurand, unit, value, delta) VALUES
    (now() - interval '1 hour', 'CP-1', 2, 2, 'Energy.Active.Import.Register', 'Wh', 4000, 0),
    (now() - interval '30 seconds', 'CP-1', 2, 2, 'Energy.Active.Import.Register', 'Wh', 7000,
     3000);
INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, transaction_id,
                                   measurand, location, unit, value)
VALUES (now() - interval '1 minute', 'CP-1', 2, 2, 'SoC', 'EV', 'Percent', 55);
INSERT INTO wattline.ocpp_messages (time, charge_point_id, direction, message_type, message_id,
                                    action, payload)
VALUES (now() - interval '1 minute', 'CP-1', 'in', 2, 'm-1', 'BootNotification',
        '{"chargePointVendor": "ACME", "chargePointModel": "Fast22"}');
INSERT INTO wattline.commands (charge_point_id, action, payload, status, requested_by,
                               answered_at, response)
VALUES ('CP-1', 'Reset', '{"type": "Soft"}', 'answered', 'cli', now(), '{"status": "Accepted"}');

INSERT INTO wattline.meter_registry (id, serial, kind, timezone) VALUES
    ('00000000-0000-0000-0000-0000000000e1', 'LOW-0001', 'prepay', 'UTC'),
    ('00000000-0000-0000-0000-0000000000e3', 'SOLAR-0001', 'prosumer', 'Asia/Kolkata');
INSERT INTO wattline.meter_registers (register_id, meter_id, element) VALUES
    ('00000000-0000-0000-0000-0000000000f3', '00000000-0000-0000-0000-0000000000e3', 'SINGLE');
INSERT INTO wattline.meter_shadows (id, balance, emergency_credit, balance_updated_at,
                                    tariffs_active, tariffs_future, csq, health,
                                    clock_time_diff_seconds, last_seen_at)
VALUES ('00000000-0000-0000-0000-0000000000e1', 4.37, 15, now() - interval '2 hours',
        '{"standing_charge": 0.5868, "unit_rate_element_a": 0.2843}',
        '{"unit_rate_element_a": 0.3111, "activation_datetime": "2099-10-01T00:00:00Z"}',
        5, 'unhealthy', 125, now() - interval '2 hours'),
       ('00000000-0000-0000-0000-0000000000e3', NULL, NULL, NULL, NULL, NULL, 24, 'healthy', -2,
        now() - interval '30 seconds');
INSERT INTO wattline.meter_prepay_balance (time, meter_id, balance, emergency_credit)
SELECT now() - interval '2 hours' - n * interval '1 hour',
       '00000000-0000-0000-0000-0000000000e1', 4.37 + n * 0.25, 15
  FROM generate_series(0, 47) AS n;
-- The prosumer exports 4.30 kW, one reading a minute for the last hour (71.667 Wh each).
INSERT INTO wattline.register_readings (time, register_id, meter_id, element, import_wh,
                                        export_wh, import_w, export_w, delta_import_wh,
                                        delta_export_wh)
SELECT now() - n * interval '1 minute', '00000000-0000-0000-0000-0000000000f3',
       '00000000-0000-0000-0000-0000000000e3', 'SINGLE', 1000, 50000 - n * 71.667, 0, 4300, 0,
       71.667
  FROM generate_series(0, 59) AS n;
