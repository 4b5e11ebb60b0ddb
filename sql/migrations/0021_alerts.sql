-- Alerts (README "Alerts"): what `wattline alerts` and every `wattline jobs` pass find wrong with
-- the fleet, one row per rule and subject from the moment it is found until it clears. Plain
-- tables on both profiles: a few rows a day, kept whole.
CREATE TABLE wattline.alerts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule          text NOT NULL,                -- the named query sql/queries/alerts.sql runs
    subject_kind  text NOT NULL
                  CHECK (subject_kind IN ('meter', 'charge_point', 'connector')),
    subject_id    text NOT NULL,                -- meter serial, charge point id, or 'CP:N'
    severity      text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    opened_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),  -- the last pass that found it still true
    resolved_at   timestamptz,                  -- NULL while open
    details       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    CHECK (resolved_at IS NULL OR resolved_at >= opened_at)
);
-- One open alert per rule and subject: two evaluators running at once open it once (the second
-- INSERT meets this index and updates instead), so its webhook event is posted once.
CREATE UNIQUE INDEX alerts_one_open ON wattline.alerts (rule, subject_kind, subject_id)
    WHERE resolved_at IS NULL;
CREATE INDEX alerts_opened ON wattline.alerts (opened_at DESC);

-- Webhook deliveries that failed every attempt, with the event as it would have been posted,
-- so an operator can see what the receiver missed (and post it again by hand).
CREATE TABLE wattline.alert_dead_letters (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id    bigint NOT NULL REFERENCES wattline.alerts (id) ON DELETE CASCADE,
    event       text NOT NULL CHECK (event IN ('opened', 'resolved')),
    payload     jsonb NOT NULL,
    -- 0: not tried, because an earlier event of the same pass had failed every attempt.
    attempts    integer NOT NULL CHECK (attempts >= 0),
    last_error  text NOT NULL,
    failed_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_dead_letters_failed ON wattline.alert_dead_letters (failed_at DESC);
