-- Charging: charge points, connectors, id tags, vehicles, tariffs, transactions, commands.
-- Current state lives in ordinary tables; the readings are series (0002).

CREATE TABLE wattline.tariffs (
    id           text PRIMARY KEY,
    currency     text NOT NULL DEFAULT 'INR' CHECK (currency ~ '^[A-Z]{3}$'),
    energy_rate  numeric NOT NULL CHECK (energy_rate >= 0),          -- per kWh
    tax_rate     numeric NOT NULL DEFAULT 0.18 CHECK (tax_rate >= 0),
    -- Optional time-of-use bands, in the site's local time:
    -- [{"from": "22:00", "to": "06:00", "energy_rate": 8.00}, ...]; outside them energy_rate holds.
    bands        jsonb CHECK (bands IS NULL OR jsonb_typeof(bands) = 'array'),
    valid_from   timestamptz NOT NULL DEFAULT '-infinity'
);

CREATE TABLE wattline.charge_points (
    id                   text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 48),  -- OCPP identity
    vendor               text,
    model                text,
    serial               text,
    firmware             text,
    password_hash        text,            -- salted hash, never the password (security profile 1/2)
    registration_status  text NOT NULL DEFAULT 'Pending'
                         CHECK (registration_status IN ('Accepted', 'Pending', 'Rejected')),
    first_seen_at        timestamptz,
    last_boot_at         timestamptz,
    last_seen_at         timestamptz,
    max_power_kw         numeric CHECK (max_power_kw > 0),
    site                 text,
    timezone             text NOT NULL DEFAULT 'UTC'
);

-- Connector 0 is the charge point as a whole, as OCPP defines it.
CREATE TABLE wattline.connectors (
    charge_point_id  text NOT NULL REFERENCES wattline.charge_points (id) ON DELETE CASCADE,
    connector_id     integer NOT NULL CHECK (connector_id >= 0),
    status           text,
    error_code       text,
    status_at        timestamptz,
    tariff_id        text REFERENCES wattline.tariffs (id),
    max_power_kw     numeric CHECK (max_power_kw > 0),
    last_meter_wh    numeric,
    last_meter_at    timestamptz,
    PRIMARY KEY (charge_point_id, connector_id)
);

CREATE TABLE wattline.id_tags (
    id_tag   text PRIMARY KEY CHECK (length(id_tag) BETWEEN 1 AND 20),  -- OCPP idToken: CiString20
    status   text NOT NULL DEFAULT 'Accepted'
             CHECK (status IN ('Accepted', 'Blocked', 'Expired', 'Invalid')),
    expiry   timestamptz,
    parent   text REFERENCES wattline.id_tags (id_tag),
    owner    text
);

-- Battery and efficiency per id tag, for SOC change and range added.
CREATE TABLE wattline.vehicles (
    id_tag       text PRIMARY KEY REFERENCES wattline.id_tags (id_tag) ON DELETE CASCADE,
    battery_kwh  numeric NOT NULL CHECK (battery_kwh > 0),
    km_per_kwh   numeric NOT NULL DEFAULT 4.5 CHECK (km_per_kwh > 0)
);

-- OCPP 1.6 transactionIds are 32-bit integers handed out by the central system.
CREATE TABLE wattline.transactions (
    id                     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    charge_point_id        text NOT NULL REFERENCES wattline.charge_points (id),
    connector_id           integer NOT NULL,
    id_tag                 text,
    meter_start_wh         numeric,
    started_at             timestamptz,         -- the charger's clock
    start_received_at      timestamptz,         -- ours
    meter_stop_wh          numeric,
    stopped_at             timestamptz,
    stop_received_at       timestamptz,
    stop_reason            text,
    stop_id_tag            text,
    manual_meter_stop_wh   numeric,             -- an operator's reading, the last resort
    -- A StopTransaction whose transactionId we never issued is confirmed and kept, not lost.
    orphan                 boolean NOT NULL DEFAULT false,
    charger_transaction_id integer,             -- the id such an orphan stop carried
    -- A re-sent StartTransaction gets the same transactionId, found by this natural key.
    CONSTRAINT transactions_start_key UNIQUE (charge_point_id, connector_id, started_at, id_tag)
);
CREATE INDEX transactions_open ON wattline.transactions (charge_point_id, connector_id)
    WHERE stopped_at IS NULL;
CREATE INDEX transactions_started ON wattline.transactions (charge_point_id, started_at DESC);

-- Operator commands to charge points. Whoever inserts a row NOTIFYs; the process that holds the
-- charge point's WebSocket sends it and writes back the answer, an error or a time-out.
CREATE TABLE wattline.commands (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    charge_point_id  text NOT NULL REFERENCES wattline.charge_points (id),
    action           text NOT NULL CHECK (action IN (
                         'RemoteStartTransaction', 'RemoteStopTransaction', 'Reset',
                         'UnlockConnector', 'ChangeAvailability', 'ChangeConfiguration',
                         'GetConfiguration', 'TriggerMessage')),
    payload          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    status           text NOT NULL DEFAULT 'requested'
                     CHECK (status IN ('requested', 'sent', 'answered', 'failed', 'timed_out')),
    requested_by     text,
    requested_at     timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    answered_at      timestamptz,
    response         jsonb,
    error            text
);
CREATE INDEX commands_pending ON wattline.commands (charge_point_id, id)
    WHERE status IN ('requested', 'sent');
