-- Bulk benchmark data, generated inside PostgreSQL (INSERT ... SELECT over generate_series), so
-- tens of millions of rows load in minutes without passing through Python. Everything is a pure
-- function of a device's number and the minute since t0, so a chunk can be generated on its own
-- and the smoke test can compute the same figures by hand.
--
-- Registers are floor(F(minute)) of a nondecreasing F with a closed form, so each reading's delta
-- (F's increase since the previous reading, as ingest stores it) comes without a window over the
-- data, and hourly deltas add up to the daily ones and to last − first, as they must.

-- functions --
CREATE SCHEMA IF NOT EXISTS bench;

-- Import energy since t0 (Wh, not yet floored): a base rate plus a daily swing that peaks at
-- 12:00 UTC, i.e. rate + peak × (1 − cos(2πk/1440)) Wh per minute, integrated. With peak 0 the
-- register climbs by exactly `rate` each minute (the smoke test's hand-computed case).
CREATE OR REPLACE FUNCTION bench.import_at(k bigint, rate float8, peak float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT rate * k + peak * (k - 1440 / (2 * pi()) * sin(2 * pi() * k / 1440))
$$;

-- Solar export since t0 (Wh): per_day Wh a day, along a half sine between 06:00 and 18:00 UTC.
-- Whole days are added as exact integers, so no rounding can make the register go down at
-- midnight.
CREATE OR REPLACE FUNCTION bench.export_at(k bigint, per_day float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT per_day * (k / 1440) + CASE
        WHEN mod(k, 1440) <= 360 THEN 0
        WHEN mod(k, 1440) >= 1080 THEN per_day
        ELSE per_day * (1 - cos(pi() * (mod(k, 1440) - 360) / 720)) / 2 END
$$;

-- Meter i's shape: rates of 1×, 2× or 3× the base, a swing of 1× or 2× the base peak, and solar
-- export on every fourth meter (the prosumers). Registers start at i × 1,000,000 Wh.
CREATE OR REPLACE FUNCTION bench.meter_plan(meters integer, rate float8, peak float8,
                                            per_day float8)
RETURNS TABLE (i integer, meter_id uuid, register_id uuid, serial text, kind text,
               rate float8, peak float8, per_day float8, start_wh bigint)
LANGUAGE sql IMMUTABLE AS $$
    SELECT i, md5('bench-meter-' || i)::uuid, md5('bench-register-' || i)::uuid,
           'BENCH-M' || lpad(i::text, 6, '0'),
           CASE WHEN mod(i, 4) = 0 THEN 'prosumer' ELSE 'prepay' END,
           rate * (1 + mod(i - 1, 3)), peak * (1 + mod(i - 1, 2)),
           CASE WHEN mod(i, 4) = 0 THEN per_day ELSE 0 END,
           i * 1000000::bigint
      FROM generate_series(1, meters) AS i
$$;

-- Charge point q has connectors 1 and 2; connector c = 2(q − 1) + n charges at 7.4, 11 or 22 kW,
-- in sessions of 30 to 120 minutes with 20 to 60 minutes between them, staggered so the fleet
-- does not start in step. `sessions` counts the sessions that end inside the first `minutes`.
-- Registers start at c × 10,000,000 Wh.
CREATE OR REPLACE FUNCTION bench.connector_plan(chargers integer, minutes integer)
RETURNS TABLE (q integer, n integer, c integer, charge_point_id text, max_power_kw numeric,
               session_minutes integer, period_minutes integer, offset_minutes integer,
               sessions integer, start_wh bigint)
LANGUAGE sql IMMUTABLE AS $$
    SELECT q, n, c, 'BENCH-CP' || lpad(q::text, 5, '0'),
           (ARRAY[7.4, 11, 22])[1 + mod(c, 3)], l, l + g, o,
           CASE WHEN minutes >= o + l THEN (minutes - o - l) / (l + g) + 1 ELSE 0 END,
           c * 10000000::bigint
      FROM generate_series(1, chargers) AS q
     CROSS JOIN generate_series(1, 2) AS n
     CROSS JOIN LATERAL (SELECT (q - 1) * 2 + n AS c) AS cc
     CROSS JOIN LATERAL (SELECT 30 + 15 * mod(c, 7) AS l, 20 + 10 * mod(c, 5) AS g) AS lg
     CROSS JOIN LATERAL (SELECT mod(c * 37, l + g) AS o) AS oo
$$;

-- drop_meter_plan --
DROP TABLE IF EXISTS bench.meters;

-- meter_plan --
-- The fleet's shapes, kept in a table so that readings join it instead of recomputing it.
CREATE TABLE bench.meters AS
SELECT * FROM bench.meter_plan(%(meters)s, %(import_wh_per_min)s, %(import_peak_wh_per_min)s,
                               %(export_wh_per_day)s);

-- meters --
INSERT INTO wattline.meter_registry (id, serial, name, kind, site, timezone)
SELECT meter_id, serial, 'Bench meter ' || i, kind, 'bench', %(timezone)s
  FROM bench.meters ORDER BY i;

-- meter_registers --
INSERT INTO wattline.meter_registers (register_id, meter_id, element)
SELECT register_id, meter_id, 'SINGLE' FROM bench.meters ORDER BY i;

-- register_readings --
-- Every meter's reading for each minute in [from_minute, to_minute), in time order (then by
-- meter), as a fleet reporting every minute writes them. The reading at minute 0 is each
-- register's first, so its deltas are 0, as ingest stores them. (The meter list is a LATERAL
-- subquery that mentions k, so minutes stay the outer loop and rows come out in time order;
-- floors go through bigint because float8 to numeric goes through text.)
INSERT INTO wattline.register_readings
       (time, received_at, register_id, meter_id, element, import_wh, export_wh, import_w,
        export_w, delta_import_wh, delta_export_wh, quality)
SELECT t, t + INTERVAL '2 seconds', m.register_id, m.meter_id, 'SINGLE',
       m.start_wh + e.import_now, e.export_now,
       round(60 * (m.rate + m.peak * (1 - cos(2 * pi() * k / 1440))))::bigint,
       CASE WHEN mod(k, 1440) > 360 AND mod(k, 1440) < 1080
            THEN round(60 * m.per_day * pi() / 1440
                       * sin(pi() * (mod(k, 1440) - 360) / 720))::bigint
            ELSE 0 END,
       e.import_now - e.import_before, e.export_now - e.export_before, 'ok'
  FROM generate_series(%(from_minute)s::bigint, %(to_minute)s::bigint - 1) AS k
 CROSS JOIN LATERAL (SELECT %(t0)s::timestamptz + k * INTERVAL '1 minute' AS t) AS tt
 CROSS JOIN LATERAL (
       SELECT p.* FROM bench.meters AS p WHERE k >= 0 ORDER BY p.i) AS m
 CROSS JOIN LATERAL (
       SELECT floor(bench.import_at(k, m.rate, m.peak))::bigint AS import_now,
              floor(bench.export_at(k, m.per_day))::bigint AS export_now,
              floor(bench.import_at(greatest(k - 1, 0), m.rate, m.peak))::bigint
                  AS import_before,
              floor(bench.export_at(greatest(k - 1, 0), m.per_day))::bigint AS export_before
       ) AS e;

-- charging_size --
-- The smallest fleet whose sessions over `minutes` give at least `meter_values` rows: per session
-- of L minutes, L + 1 register readings (Transaction.Begin, periodic, Transaction.End) and a power
-- and a state-of-charge reading at each of the L − 1 periodic samples: 3L − 1 rows.
SELECT q AS chargers, total AS meter_values, sessions
  FROM (SELECT q, sum(sum(p.sessions * (3 * p.session_minutes - 1))) OVER (ORDER BY q) AS total,
               sum(sum(p.sessions)) OVER (ORDER BY q) AS sessions
          FROM bench.connector_plan(%(max_chargers)s, %(minutes)s) AS p
         GROUP BY q) AS s
 WHERE total >= %(meter_values)s
 ORDER BY q
 LIMIT 1;

-- tariffs --
-- A flat rate, and a time-of-use tariff (cheap nights, a midday solar band) on every fourth
-- connector, which sends the session report down its per-reading path.
INSERT INTO wattline.tariffs (id, currency, energy_rate, tax_rate, bands) VALUES
    ('BENCH-FLAT', 'INR', 12.50, 0.18, NULL),
    ('BENCH-TOU', 'INR', 14.00, 0.18,
     '[{"from": "22:00", "to": "06:00", "energy_rate": 8.00},
       {"from": "10:00", "to": "16:00", "energy_rate": 10.50}]');

-- id_tags --
-- Drivers with their cars: 50, 75 or 100 kWh batteries.
INSERT INTO wattline.id_tags (id_tag, status)
SELECT 'BENCH' || lpad(i::text, 6, '0'), 'Accepted' FROM generate_series(1, %(tags)s) AS i;

-- vehicles --
INSERT INTO wattline.vehicles (id_tag, battery_kwh, km_per_kwh)
SELECT 'BENCH' || lpad(i::text, 6, '0'), (ARRAY[50, 75, 100])[1 + mod(i, 3)],
       (ARRAY[4.5, 6.0, 7.0])[1 + mod(i, 3)]
  FROM generate_series(1, %(tags)s) AS i;

-- charge_points --
INSERT INTO wattline.charge_points (id, vendor, model, registration_status, first_seen_at,
                                    max_power_kw, site, timezone)
SELECT DISTINCT ON (q) charge_point_id, 'Bench', 'AC-22', 'Accepted', %(t0)s, 22,
       'site-' || (1 + q / 10), %(timezone)s
  FROM bench.connector_plan(%(chargers)s, %(minutes)s)
 ORDER BY q;

-- connectors --
INSERT INTO wattline.connectors (charge_point_id, connector_id, status, tariff_id, max_power_kw)
SELECT charge_point_id, n, 'Available',
       CASE WHEN mod(c, 4) = 0 THEN 'BENCH-TOU' ELSE 'BENCH-FLAT' END, max_power_kw
  FROM bench.connector_plan(%(chargers)s, %(minutes)s);

-- transactions --
-- Every session, in start order, so transaction ids grow with time as the central system hands
-- them out. Session s of a connector starts at offset + s × period minutes; its register runs
-- from start_wh + s × E to start_wh + (s + 1) × E, E = floor(kW × 1000 × L / 60). Every 50th
-- session's StopTransaction carried no meterStop, so its end register comes from the meter
-- values (end_source connector_register).
INSERT INTO wattline.transactions
       (charge_point_id, connector_id, id_tag, meter_start_wh, started_at, start_received_at,
        meter_stop_wh, stopped_at, stop_received_at, stop_reason, stop_id_tag)
SELECT p.charge_point_id, p.n, x.id_tag,
       p.start_wh + s * x.e, x.started_at, x.started_at + INTERVAL '1 second',
       CASE WHEN mod(p.c + s, 50) = 0 THEN NULL ELSE p.start_wh + (s + 1) * x.e END,
       x.stopped_at, x.stopped_at + INTERVAL '1 second', 'EVDisconnected', x.id_tag
  FROM bench.connector_plan(%(chargers)s, %(minutes)s) AS p
 CROSS JOIN LATERAL generate_series(0, p.sessions - 1) AS s
 CROSS JOIN LATERAL (
       SELECT 'BENCH' || lpad((1 + mod(p.c * 31 + s * 17, %(tags)s))::text, 6, '0') AS id_tag,
              floor(p.max_power_kw * 1000 * p.session_minutes / 60) AS e,
              %(t0)s::timestamptz + (p.offset_minutes + s * p.period_minutes)
                  * INTERVAL '1 minute' AS started_at,
              %(t0)s::timestamptz + (p.offset_minutes + s * p.period_minutes
                                     + p.session_minutes) * INTERVAL '1 minute' AS stopped_at
       ) AS x
 ORDER BY x.started_at, p.c;

-- transaction_ids --
SELECT min(id) AS first, max(id) AS last FROM wattline.transactions;

-- meter_values --
-- The meter values of transactions [first_id, last_id], as the central system stores them: the
-- main register at meterStart (Transaction.Begin), each minute (Sample.Periodic) and at
-- meterStop (Transaction.End, or one more periodic sample when the stop carried no meterStop),
-- with power and state of charge beside each periodic sample. Register deltas are per
-- connector series; a session starts where the last one stopped, so its Begin adds 0.
INSERT INTO wattline.meter_values
       (time, received_at, charge_point_id, connector_id, transaction_id, measurand, phase,
        location, context, unit, value, delta, quality)
SELECT t.started_at + j * INTERVAL '1 minute', t.started_at + j * INTERVAL '1 minute'
           + INTERVAL '1 second', t.charge_point_id, t.connector_id, t.id, v.measurand, '',
       'Outlet',
       CASE WHEN v.k > 1 OR (j > 0 AND j < x.l) THEN 'Sample.Periodic'
            WHEN j = 0 THEN 'Transaction.Begin'
            WHEN t.meter_stop_wh IS NULL THEN 'Sample.Periodic'
            ELSE 'Transaction.End' END,
       v.unit,
       CASE v.k WHEN 1 THEN t.meter_start_wh + w.wh
                WHEN 2 THEN c.max_power_kw * 1000
                ELSE least(100, round(10 + mod(t.id, 50) + w.wh / (10 * h.battery_kwh), 1)) END,
       CASE WHEN v.k = 1 THEN w.wh - w.before END,
       'ok'
  FROM wattline.transactions AS t
  JOIN wattline.connectors AS c
    ON c.charge_point_id = t.charge_point_id AND c.connector_id = t.connector_id
  JOIN wattline.vehicles AS h ON h.id_tag = t.id_tag
 CROSS JOIN LATERAL (
       SELECT (extract(epoch FROM t.stopped_at - t.started_at) / 60)::integer AS l) AS x
 CROSS JOIN LATERAL generate_series(0, x.l) AS j
 CROSS JOIN LATERAL (
       SELECT floor(c.max_power_kw * 1000 * j / 60) AS wh,
              floor(c.max_power_kw * 1000 * greatest(j - 1, 0) / 60) AS before) AS w
 CROSS JOIN (VALUES (1, 'Energy.Active.Import.Register', 'Wh'),
                    (2, 'Power.Active.Import', 'W'),
                    (3, 'SoC', 'Percent')) AS v (k, measurand, unit)
 WHERE t.id BETWEEN %(first_id)s AND %(last_id)s
   AND (v.k = 1 OR (j > 0 AND j < x.l))
 ORDER BY t.id, j, v.k;

-- connector_last_meter --
-- What the central system keeps per connector: its latest main register, the end of its last
-- session.
UPDATE wattline.connectors AS c
   SET last_meter_wh = l.meter_start_wh + floor(c.max_power_kw * 1000 * l.minutes / 60),
       last_meter_at = l.stopped_at
  FROM (SELECT DISTINCT ON (charge_point_id, connector_id) charge_point_id, connector_id,
               meter_start_wh, stopped_at,
               (extract(epoch FROM stopped_at - started_at) / 60)::integer AS minutes
          FROM wattline.transactions
         ORDER BY charge_point_id, connector_id, started_at DESC) AS l
 WHERE l.charge_point_id = c.charge_point_id AND l.connector_id = c.connector_id;

-- table_indexes --
-- A table's unique constraints and other indexes, as the DDL that re-creates them exactly, so a
-- bulk load can drop them and build them once at the end (much faster than keeping them up to
-- date row by row). Constraints first: their indexes are not listed separately. (%% is a
-- literal % here: the query takes parameters.)
SELECT format('ALTER TABLE %%s DROP CONSTRAINT %%I', c.conrelid::regclass, c.conname) AS drop_ddl,
       format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', c.conrelid::regclass, c.conname,
              pg_get_constraintdef(c.oid)) AS create_ddl
  FROM pg_constraint c
 WHERE c.conrelid = %(relation)s::regclass AND c.contype IN ('u', 'p')
UNION ALL
SELECT format('DROP INDEX %%s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
  FROM pg_index i
 WHERE i.indrelid = %(relation)s::regclass
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);
