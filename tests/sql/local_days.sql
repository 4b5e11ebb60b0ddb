-- Readings around local midnight, loaded the way ingest loads them (staged, then merged), for
-- tests/sql/test_local_days.py. Times are UTC. Asia/Kolkata is UTC+05:30: 00:00 IST on 2 March
-- is 18:30 UTC on 1 March. Asia/Kathmandu is UTC+05:45: its midnight is at 18:15 UTC.
-- Europe/Berlin is UTC+01:00 until 29 March 2026, UTC+02:00 from then.

-- devices --
-- CP-IN and the meter keep the default timezone 'UTC', so they count in the site's zone.
INSERT INTO wattline.charge_points (id) VALUES ('CP-IN');
INSERT INTO wattline.charge_points (id, timezone) VALUES ('CP-NP', 'Asia/Kathmandu'),
    ('CP-DE', 'Europe/Berlin');
INSERT INTO wattline.meter_registry (id, serial, kind) VALUES
    ('00000000-0000-0000-0000-0000000000c1', 'EML-LOCAL-1', 'prosumer');
INSERT INTO wattline.meter_registers (register_id, meter_id, element) VALUES
    ('00000000-0000-0000-0000-0000000000c2', '00000000-0000-0000-0000-0000000000c1', 'SINGLE');

-- readings --
SELECT wattline.create_staging();
INSERT INTO pg_temp.stage_meter_values
       (time, charge_point_id, connector_id, measurand, unit, value)
SELECT t::timestamptz, cp, 1, 'Energy.Active.Import.Register', 'Wh', v
  FROM (VALUES ('2026-03-01 17:50+00', 'CP-IN', 1000), ('2026-03-01 18:10+00', 'CP-IN', 1400),
               ('2026-03-01 18:29+00', 'CP-IN', 1700), ('2026-03-01 18:30+00', 'CP-IN', 1750),
               ('2026-03-01 18:45+00', 'CP-IN', 2000), ('2026-03-01 19:00+00', 'CP-IN', 2600),
               ('2026-03-02 18:20+00', 'CP-IN', 3600), ('2026-03-02 18:40+00', 'CP-IN', 3700),
               ('2026-03-01 18:10+00', 'CP-NP', 500), ('2026-03-01 18:14+00', 'CP-NP', 600),
               ('2026-03-01 18:15+00', 'CP-NP', 650), ('2026-03-01 18:50+00', 'CP-NP', 900),
               -- Berlin goes to summer time at 01:00 UTC on 29 March: that day has 23 hours.
               ('2026-03-28 23:05+00', 'CP-DE', 100), ('2026-03-28 23:10+00', 'CP-DE', 200),
               ('2026-03-29 21:55+00', 'CP-DE', 400), ('2026-03-29 22:05+00', 'CP-DE', 700))
       AS r (t, cp, v);
INSERT INTO pg_temp.stage_register_readings
       (time, register_id, meter_id, element, import_wh, export_wh)
SELECT t::timestamptz, '00000000-0000-0000-0000-0000000000c2',
       '00000000-0000-0000-0000-0000000000c1', 'SINGLE', i, e
  FROM (VALUES ('2026-03-01 17:55+00', 5000, 0), ('2026-03-01 18:25+00', 5300, 0),
               ('2026-03-01 18:35+00', 5500, 40)) AS r (t, i, e);
INSERT INTO wattline.meter_prepay_balance (time, meter_id, balance, emergency_credit)
VALUES ('2026-03-01 18:40+00', '00000000-0000-0000-0000-0000000000c1', 42.50, 0);
SELECT wattline.merge_meter_values();
SELECT wattline.merge_register_readings();
