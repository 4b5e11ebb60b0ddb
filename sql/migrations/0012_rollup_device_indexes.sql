-- One charge point's energy over time (the dashboard's hourly chart, dash_charger_energy_hourly;
-- charger_energy in analytics.sql) reads its rows from a connector rollup. The postgres profile's
-- rollup tables are keyed (bucket, charge_point_id, connector_id), so that read scanned every
-- charge point's rows in the range, and its cost grew with the fleet: 12 ms (p50) for a month of
-- 123 charge points in bench/dashboard_queries.py, only 6× faster than the same answer from raw
-- meter values. Keyed by charge point first, in the chart's order, and covering energy_wh, it is
-- an index-only scan of a few pages: under 1 ms in the database, whatever the fleet's size.
--
-- The timescale profile needs nothing: TimescaleDB already indexes each GROUP BY column of a
-- continuous aggregate together with its bucket (timescaledb.create_group_indexes).
DO $$
BEGIN
    IF (SELECT profile FROM wattline_admin.storage) = 'postgres' THEN
        CREATE INDEX connector_energy_hourly_charge_point
            ON wattline.connector_energy_hourly (charge_point_id, bucket, connector_id)
            INCLUDE (energy_wh);
        CREATE INDEX connector_energy_daily_charge_point
            ON wattline.connector_energy_daily (charge_point_id, bucket, connector_id)
            INCLUDE (energy_wh);
    END IF;
END $$;
