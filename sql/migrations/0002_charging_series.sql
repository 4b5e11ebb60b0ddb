-- Charging series: meter values, status notifications, every OCPP frame.
-- Natural keys include the time column (hypertables require it) and make re-sent data a no-op.
--
-- Chunk intervals follow the data rate, so that the chunks being written (and their indexes)
-- stay in memory: a 10,000-charger fleet sampling 4 measurands a minute writes ~58M meter
-- values a day, so meter values and frames get 1-day chunks; status changes are a few per
-- connector a day and get 30-day chunks. Compression starts once late data is unlikely.

CREATE TABLE wattline.meter_values (
    time             timestamptz NOT NULL,               -- the charger's sample time
    received_at      timestamptz NOT NULL DEFAULT now(),
    charge_point_id  text NOT NULL,
    connector_id     integer NOT NULL,
    transaction_id   integer,
    measurand        text NOT NULL DEFAULT 'Energy.Active.Import.Register',
    phase            text NOT NULL DEFAULT '',            -- '' = all phases / not given
    location         text NOT NULL DEFAULT 'Outlet',
    context          text NOT NULL DEFAULT 'Sample.Periodic',
    unit             text NOT NULL,                       -- base unit after normalising: Wh, W, A, V, Percent, ...
    value            numeric NOT NULL,
    -- Energy since this register's previous reading (register measurands only). Stored at ingest
    -- so rollups are plain sums: the energy between two readings lands in the later reading's
    -- bucket, and a register that goes down (reset, replaced meter) adds 0, never negative energy.
    delta            numeric,
    quality          text NOT NULL DEFAULT 'ok',
    CONSTRAINT meter_values_key
        UNIQUE (charge_point_id, connector_id, measurand, phase, location, time)
);
SELECT wattline_admin.create_series('wattline.meter_values', 'time', INTERVAL '1 day',
                                    'charge_point_id, connector_id', INTERVAL '7 days');
CREATE INDEX meter_values_transaction ON wattline.meter_values (transaction_id, time)
    WHERE transaction_id IS NOT NULL;

CREATE TABLE wattline.status_notifications (
    time               timestamptz NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now(),
    charge_point_id    text NOT NULL,
    connector_id       integer NOT NULL,
    status             text NOT NULL,
    error_code         text NOT NULL DEFAULT 'NoError',
    info               text,
    vendor_id          text,
    vendor_error_code  text,
    CONSTRAINT status_notifications_key
        UNIQUE (charge_point_id, connector_id, time, status, error_code)
);
-- Status changes are rare (a few a day per connector): month-long chunks stay small.
SELECT wattline_admin.create_series('wattline.status_notifications', 'time', INTERVAL '30 days',
                                    'charge_point_id', INTERVAL '60 days');

-- Raw frames in and out, for audit and debugging; kept 30 days.
CREATE TABLE wattline.ocpp_messages (
    time             timestamptz NOT NULL DEFAULT now(),  -- when we received or sent it
    charge_point_id  text NOT NULL,
    direction        text NOT NULL CHECK (direction IN ('in', 'out')),
    message_type     smallint NOT NULL CHECK (message_type IN (2, 3, 4)),  -- CALL, RESULT, ERROR
    message_id       text,
    action           text,
    payload          jsonb,
    raw              text        -- set when the frame was not valid JSON
);
SELECT wattline_admin.create_series('wattline.ocpp_messages', 'time', INTERVAL '1 day',
                                    'charge_point_id', INTERVAL '2 days', INTERVAL '30 days');
CREATE INDEX ocpp_messages_charge_point ON wattline.ocpp_messages (charge_point_id, time DESC);
