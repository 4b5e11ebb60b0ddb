-- Schema `flows`: the meter domain under the names the Flows platform's documents and saved
-- queries use (flows.meter_registry, flows.meter_prepay_balance."timestamp", ...), so those
-- queries run here unchanged. Plain views over schema wattline: no second copy of any data,
-- and filters on "timestamp" reach the hypertable's time column (chunks are still excluded).
-- The reader gets SELECT on them in sql/grants.sql.
CREATE SCHEMA flows;
COMMENT ON SCHEMA flows IS
    'Meter domain under the Flows platform''s names, for its saved queries; views over wattline';

CREATE VIEW flows.meter_registry AS
SELECT id, serial, name, ip_address, hardware, mode, esco, single_meter_app,
       daylight_savings_correction,
       daylight_savings_correction AS daylight_savings_correction_enabled,  -- both spellings
       kind, created_at, updated_at
  FROM wattline.meter_registry;
COMMENT ON VIEW flows.meter_registry IS 'Meters (wattline.meter_registry)';

CREATE VIEW flows.meter_shadows AS
SELECT id, balance, emergency_credit, balance_updated_at, tariffs_active, tariffs_future, csq,
       health, clock_time_diff_seconds, voltage, last_seen_at, updated_at
  FROM wattline.meter_shadows;
COMMENT ON VIEW flows.meter_shadows IS 'Each meter''s current state (wattline.meter_shadows)';

CREATE VIEW flows.meter_registers AS
SELECT register_id, meter_id, element, status, direction_reversed, created_at
  FROM wattline.meter_registers;
COMMENT ON VIEW flows.meter_registers IS 'Registers of each meter (wattline.meter_registers)';

CREATE VIEW flows.meter_prepay_balance AS
SELECT meter_id, time AS "timestamp", balance, emergency_credit
  FROM wattline.meter_prepay_balance;
COMMENT ON VIEW flows.meter_prepay_balance IS
    'Balance history; "timestamp" is wattline.meter_prepay_balance.time (the meter''s time)';

CREATE VIEW flows.meter_shadows_tariffs AS SELECT * FROM wattline.meter_shadows_tariffs;
COMMENT ON VIEW flows.meter_shadows_tariffs IS 'See wattline.meter_shadows_tariffs';

CREATE VIEW flows.meters_low_balance AS SELECT * FROM wattline.meters_low_balance;
COMMENT ON VIEW flows.meters_low_balance IS 'See wattline.meters_low_balance';

CREATE VIEW flows.meters_offline_recently AS SELECT * FROM wattline.meters_offline_recently;
COMMENT ON VIEW flows.meters_offline_recently IS 'See wattline.meters_offline_recently';
