-- When each change to a rollup's source was logged (postgres profile), so `wattline jobs` can
-- export how long the oldest change has waited for its refresh
-- (wattline_rollup_refresh_lag_seconds). Rows logged before this migration count from now.
ALTER TABLE wattline_admin.rollup_invalidations
    ADD COLUMN IF NOT EXISTS logged_at timestamptz NOT NULL DEFAULT now();
