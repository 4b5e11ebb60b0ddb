-- Smart meters (MQTT): the registry, registers and shadows of the meter domain, and their series.
-- Chunks: register readings arrive every minute or so per register (1-day chunks); balances and
-- health every few minutes to hours (7 days); events are rare (30 days).

CREATE TABLE wattline.meter_registry (
    id                           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    serial                       text NOT NULL UNIQUE CHECK (serial ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name                         text,
    ip_address                   inet,
    hardware                     text,
    mode                         text NOT NULL DEFAULT 'active' CHECK (mode IN ('active', 'passive')),
    esco                         text,
    single_meter_app             boolean NOT NULL DEFAULT false,
    daylight_savings_correction  boolean NOT NULL DEFAULT false,
    kind                         text NOT NULL DEFAULT 'prepay' CHECK (kind IN ('prepay', 'prosumer')),
    site                         text,
    timezone                     text NOT NULL DEFAULT 'UTC',  -- settlement periods align to it
    created_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                   timestamptz NOT NULL DEFAULT now()
);

-- SINGLE for single-rate meters, A (day) and B (night) for dual-rate ones. A replaced register
-- keeps its rows under its own register_id; its successor starts a new series.
CREATE TABLE wattline.meter_registers (
    register_id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meter_id            uuid NOT NULL REFERENCES wattline.meter_registry (id) ON DELETE CASCADE,
    element             text NOT NULL CHECK (element IN ('A', 'B', 'SINGLE')),
    status              text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'replaced')),
    direction_reversed  boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    replaced_at         timestamptz
);
CREATE UNIQUE INDEX meter_registers_one_enabled ON wattline.meter_registers (meter_id, element)
    WHERE status = 'enabled';

-- The current state of each meter, as last heard; the series below keep the history.
CREATE TABLE wattline.meter_shadows (
    id                       uuid PRIMARY KEY REFERENCES wattline.meter_registry (id) ON DELETE CASCADE,
    balance                  numeric,
    emergency_credit         numeric,
    balance_updated_at       timestamptz,
    tariffs_active           jsonb,
    tariffs_future           jsonb,
    csq                      integer CHECK (csq BETWEEN 0 AND 31),
    health                   text CHECK (health IN ('healthy', 'unhealthy')),
    clock_time_diff_seconds  integer,
    voltage                  numeric,
    health_updated_at        timestamptz,
    last_seen_at             timestamptz,
    updated_at               timestamptz NOT NULL DEFAULT now()
);

-- Cumulative registers. meter_id and element are copied from meter_registers at ingest so the
-- rollups group by meter without a join.
CREATE TABLE wattline.register_readings (
    time          timestamptz NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    register_id   uuid NOT NULL,
    meter_id      uuid NOT NULL,
    element       text NOT NULL,
    import_wh     numeric NOT NULL CHECK (import_wh >= 0),
    export_wh     numeric NOT NULL DEFAULT 0 CHECK (export_wh >= 0),
    import_w      numeric,
    export_w      numeric,
    -- Energy since the register's previous reading, as for meter_values.delta.
    delta_import_wh  numeric,
    delta_export_wh  numeric,
    quality       text NOT NULL DEFAULT 'ok',
    CONSTRAINT register_readings_key UNIQUE (register_id, time)
);
SELECT wattline_admin.create_series('wattline.register_readings', 'time', INTERVAL '1 day',
                                    'register_id', INTERVAL '7 days');
CREATE INDEX register_readings_meter ON wattline.register_readings (meter_id, time DESC);

CREATE TABLE wattline.meter_prepay_balance (
    time              timestamptz NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now(),
    meter_id          uuid NOT NULL,
    balance           numeric NOT NULL,
    emergency_credit  numeric,
    CONSTRAINT meter_prepay_balance_key UNIQUE (meter_id, time)
);
SELECT wattline_admin.create_series('wattline.meter_prepay_balance', 'time', INTERVAL '7 days',
                                    'meter_id', INTERVAL '30 days');

CREATE TABLE wattline.meter_health (
    time                     timestamptz NOT NULL,
    received_at              timestamptz NOT NULL DEFAULT now(),
    meter_id                 uuid NOT NULL,
    csq                      integer CHECK (csq BETWEEN 0 AND 31),
    clock_time_diff_seconds  integer,
    voltage                  numeric CHECK (voltage >= 0),
    CONSTRAINT meter_health_key UNIQUE (meter_id, time)
);
SELECT wattline_admin.create_series('wattline.meter_health', 'time', INTERVAL '7 days',
                                    'meter_id', INTERVAL '30 days');

CREATE TABLE wattline.meter_event_log (
    time         timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    meter_id     uuid NOT NULL,
    event_type   text NOT NULL,
    severity     text NOT NULL DEFAULT 'info' CHECK (severity IN ('info', 'warning', 'error')),
    details      jsonb,
    CONSTRAINT meter_event_log_key UNIQUE (meter_id, time, event_type)
);
SELECT wattline_admin.create_series('wattline.meter_event_log', 'time', INTERVAL '30 days',
                                    'meter_id', INTERVAL '60 days');

CREATE TABLE wattline.settlement_periods (
    meter_id      uuid NOT NULL REFERENCES wattline.meter_registry (id) ON DELETE CASCADE,
    period_start  timestamptz NOT NULL,
    period_end    timestamptz NOT NULL CHECK (period_end > period_start),
    import_wh     numeric NOT NULL,
    export_wh     numeric NOT NULL,
    net_wh        numeric NOT NULL,                     -- export - import
    status        text NOT NULL CHECK (status IN ('EXPORTING', 'IMPORTING', 'IDLE')),
    tokens        numeric NOT NULL,
    computed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meter_id, period_start)
);

-- Nothing is silently dropped: every payload we refuse is kept here with the reason.
CREATE TABLE wattline.ingest_rejects (
    time         timestamptz NOT NULL DEFAULT now(),
    source       text NOT NULL,        -- 'mqtt', 'ocpp', ...
    key          text,                 -- topic, or charge point id and action
    reason       text NOT NULL,
    raw          text NOT NULL         -- the payload as received
);
SELECT wattline_admin.create_series('wattline.ingest_rejects', 'time', INTERVAL '7 days',
                                    'source', INTERVAL '7 days', INTERVAL '90 days');
CREATE INDEX ingest_rejects_source ON wattline.ingest_rejects (source, time DESC);
