-- Seed 000's figures (tests/api/test_charging.py computes each by hand from these inputs).
INSERT INTO wattline.accounts (id, name) VALUES ('acct-a', 'Prosumer A'), ('acct-b', 'Prosumer B');
INSERT INTO wattline.tariffs (id, currency, energy_rate, tax_rate) VALUES ('T1', 'INR', 12.50, 0.18);
INSERT INTO wattline.charge_points (id, vendor, model, registration_status, last_seen_at) VALUES
    ('CP-1', 'ACME', 'AC22', 'Accepted', now() - interval '1 minute'),
    ('CP-2', 'ACME', 'AC22', 'Accepted', NULL);
INSERT INTO wattline.connectors (charge_point_id, connector_id, status, tariff_id, max_power_kw,
                                 last_meter_wh, last_meter_at) VALUES
    ('CP-1', 1, 'Available', 'T1', 22, 15545, '2024-01-28 11:15+00'),
    ('CP-1', 2, 'Charging', 'T1', 22, 5123, now() - interval '20 minutes'),
    ('CP-1', 3, 'Charging', 'T1', 22, 15234, now() - interval '150 seconds'),
    ('CP-2', 1, 'Available', 'T1', 22, NULL, NULL);
INSERT INTO wattline.id_tags (id_tag, account_id) VALUES
    ('TAG1', 'acct-a'), ('TAG2', 'acct-a'), ('TAGB', 'acct-b'), ('NOBODY', NULL);
INSERT INTO wattline.vehicles (id_tag, battery_kwh, km_per_kwh) VALUES ('TAG2', 40, 4.5);
INSERT INTO wattline.transactions
       (id, charge_point_id, connector_id, id_tag, meter_start_wh, started_at,
        meter_stop_wh, stopped_at, stop_reason) OVERRIDING SYSTEM VALUE VALUES
    -- 1: the cost flow; 2: the SOC figures; 5: EndMeter = StartMeter
    (1, 'CP-1', 1, 'TAG1', 5123, '2024-01-27 09:45+00', 15234, '2024-01-27 10:52+00', 'Local'),
    (2, 'CP-1', 1, 'TAG2', 0, '2024-01-28 10:00+00', 15545, '2024-01-28 11:15+00', 'EVDisconnected'),
    (5, 'CP-2', 1, 'NOBODY', 7000, '2024-01-29 08:00+00', 7000, '2024-01-29 09:00+00', 'Local');
INSERT INTO wattline.transactions
       (id, charge_point_id, connector_id, id_tag, meter_start_wh, started_at)
       OVERRIDING SYSTEM VALUE VALUES
    -- 3: open, no MeterValues since its start (item 5); 4: open, the connector-meter-status seed
    (3, 'CP-1', 2, 'TAGB', 5123, now() - interval '20 minutes'),
    (4, 'CP-1', 3, 'TAG1', 5123, now() - interval '67 minutes');
-- meterStart stored as a reading at the start, as ingest/ocpp/service.py does.
INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, transaction_id, unit,
                                   value, context)
SELECT started_at, charge_point_id, connector_id, id, 'Wh', meter_start_wh, 'Transaction.Begin'
  FROM wattline.transactions WHERE id IN (3, 4);
INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, transaction_id, unit,
                                   value, context)
VALUES (now() - interval '150 seconds', 'CP-1', 3, 4, 'Wh', 15234, 'Sample.Periodic');
