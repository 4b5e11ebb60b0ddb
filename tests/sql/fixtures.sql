-- Fixed data for the rollup tests, loaded the way ingest loads it: into the session's staging
-- tables, then merged. Times are UTC; readings every 7, 5 and 13 minutes so that they straddle
-- bucket edges.

-- meters --
INSERT INTO wattline.meter_registry (id, serial, kind) VALUES
    ('00000000-0000-0000-0000-00000000000a', 'EML0000000001', 'prepay'),
    ('00000000-0000-0000-0000-00000000000b', 'EML0000000002', 'prosumer');

-- registers --
-- Meter a is single-rate; meter b is dual-rate (A day, B night) and exports.
INSERT INTO wattline.meter_registers (register_id, meter_id, element) VALUES
    ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-00000000000a', 'SINGLE'),
    ('00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-00000000000b', 'A'),
    ('00000000-0000-0000-0000-0000000000b2', '00000000-0000-0000-0000-00000000000b', 'B');

-- charger --
INSERT INTO wattline.charge_points (id) VALUES ('CP-1'), ('CP-2');

-- create_staging --
SELECT wattline.create_staging();

-- stage_register_series --
-- 421 readings per register over 49 hours. The SINGLE register goes back to 0 at reading 200,
-- as after a reset; half the readings (by parity) arrive in a later batch, out of order.
INSERT INTO pg_temp.stage_register_readings
       (time, register_id, meter_id, element, import_wh, export_wh)
SELECT timestamptz '2024-03-30 00:03:00+00' + n * INTERVAL '7 minutes',
       r.register_id, r.meter_id, r.element,
       CASE WHEN r.element = 'SINGLE' AND n >= 200 THEN (n - 200) * 11
            ELSE 50000 + n * (CASE r.element WHEN 'A' THEN 17 ELSE 5 END) + (n %% 3) END,
       CASE WHEN r.element = 'SINGLE' THEN 0 ELSE n * 3 END
  FROM generate_series(0, 420) AS n
 CROSS JOIN wattline.meter_registers AS r
 WHERE n %% 2 = %(parity)s;

-- stage_meter_value_series --
-- Two connectors, an energy register every 5 minutes with a reset on CP-2 at reading 150, and a
-- power measurand beside it that must never count as energy.
INSERT INTO pg_temp.stage_meter_values
       (time, charge_point_id, connector_id, measurand, unit, value)
SELECT timestamptz '2024-03-30 22:02:00+00' + n * INTERVAL '5 minutes', cp, 1, m,
       CASE WHEN m = 'Power.Active.Import' THEN 'W' ELSE 'Wh' END,
       CASE WHEN m = 'Power.Active.Import' THEN 7000 + n
            WHEN cp = 'CP-2' AND n >= 150 THEN (n - 150) * 90
            ELSE 120000 + n * 61 + (n * n) %% 7 END
  FROM generate_series(0, 400) AS n
 CROSS JOIN (VALUES ('CP-1'), ('CP-2')) AS c (cp)
 CROSS JOIN (VALUES ('Energy.Active.Import.Register'), ('Power.Active.Import')) AS v (m)
 WHERE n %% 2 = %(parity)s;

-- insert_balance_series --
INSERT INTO wattline.meter_prepay_balance (time, meter_id, balance, emergency_credit)
SELECT timestamptz '2024-03-30 00:05:00+00' + n * INTERVAL '13 minutes',
       '00000000-0000-0000-0000-00000000000a', 50 - (n % 60) * 0.75, 15
  FROM generate_series(0, 300) AS n;

-- merge_register_readings --
SELECT wattline.merge_register_readings() AS inserted;

-- merge_meter_values --
SELECT wattline.merge_meter_values() AS inserted;

-- raw_connector_energy --
-- The rollup's answer computed from raw rows, with no stored deltas: lag over each register.
SELECT time_bucket(%(width)s::interval, time) AS bucket, charge_point_id, connector_id,
       sum(coalesce(greatest(value - prev, 0), 0)) AS energy_wh,
       (array_agg(value ORDER BY time DESC))[1] AS register_wh,
       count(*) AS readings
  FROM (SELECT time, charge_point_id, connector_id, value,
               lag(value) OVER (PARTITION BY charge_point_id, connector_id ORDER BY time) AS prev
          FROM wattline.meter_values
         WHERE measurand = 'Energy.Active.Import.Register' AND phase = ''
           AND location = 'Outlet') AS r
 GROUP BY 1, 2, 3;

-- raw_meter_energy --
SELECT time_bucket(%(width)s::interval, time) AS bucket, meter_id, element,
       sum(coalesce(greatest(import_wh - prev_import, 0), 0)) AS import_wh,
       sum(coalesce(greatest(export_wh - prev_export, 0), 0)) AS export_wh,
       (array_agg(import_wh ORDER BY time DESC))[1] AS import_register_wh,
       (array_agg(export_wh ORDER BY time DESC))[1] AS export_register_wh,
       count(*) AS readings
  FROM (SELECT time, meter_id, element, import_wh, export_wh,
               lag(import_wh) OVER (PARTITION BY register_id ORDER BY time) AS prev_import,
               lag(export_wh) OVER (PARTITION BY register_id ORDER BY time) AS prev_export
          FROM wattline.register_readings) AS r
 GROUP BY 1, 2, 3;

-- raw_prepay_balance_daily --
SELECT time_bucket(INTERVAL '1 day', time) AS bucket, meter_id,
       min(balance) AS min_balance, max(balance) AS max_balance, avg(balance) AS mean_balance,
       (array_agg(balance ORDER BY time DESC))[1] AS last_balance,
       (array_agg(emergency_credit ORDER BY time DESC))[1] AS last_emergency_credit,
       count(*) AS readings
  FROM wattline.meter_prepay_balance
 GROUP BY 1, 2;
