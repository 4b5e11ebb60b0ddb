-- Merges from the session's staging tables (wattline.create_staging) into the series. Re-sent
-- rows hit the natural key and are skipped, so they count once.

-- merge_meter_values --
SELECT wattline.merge_meter_values();

-- merge_register_readings --
SELECT wattline.merge_register_readings();

-- merge_status_notifications --
INSERT INTO wattline.status_notifications SELECT * FROM pg_temp.stage_status_notifications
    ON CONFLICT DO NOTHING;

-- merge_meter_prepay_balance --
INSERT INTO wattline.meter_prepay_balance SELECT * FROM pg_temp.stage_meter_prepay_balance
    ON CONFLICT DO NOTHING;

-- merge_meter_health --
INSERT INTO wattline.meter_health SELECT * FROM pg_temp.stage_meter_health
    ON CONFLICT DO NOTHING;

-- merge_meter_event_log --
INSERT INTO wattline.meter_event_log SELECT * FROM pg_temp.stage_meter_event_log
    ON CONFLICT DO NOTHING;

-- create_staging --
SELECT wattline.create_staging();
