-- Security (issue 13): each charge point's security profile, a series of security events, and
-- no AuthorizationKey (a charge point's new password) kept in clear anywhere the reader sees.

-- OCPP security whitepaper profiles: 1 = HTTP Basic over ws:// or wss://, 2 = HTTP Basic and
-- TLS, 3 = TLS with a client certificate whose CN is the identity.
ALTER TABLE wattline.charge_points
    ADD COLUMN security_profile smallint NOT NULL DEFAULT 1 CHECK (security_profile IN (1, 2, 3));

-- Who tried to get in where they do not belong, and what happened: unknown identities, wrong
-- passwords or certificates, takeovers refused, rate limits. Kept like the other raw series.
CREATE TABLE wattline.security_events (
    time            timestamptz NOT NULL DEFAULT now(),
    source          text NOT NULL,        -- 'ocpp', ...
    identity        text,                 -- as presented (escaped when not printable)
    remote_address  text,
    event           text NOT NULL,        -- unknown_identity, bad_password, takeover_refused, ...
    details         jsonb NOT NULL DEFAULT '{}'
);
SELECT wattline_admin.create_series('wattline.security_events', 'time', INTERVAL '7 days',
                                    'source', INTERVAL '7 days', INTERVAL '365 days');
CREATE INDEX security_events_identity ON wattline.security_events (identity, time DESC);

-- A new AuthorizationKey travels from whoever requests the ChangeConfiguration to the process
-- that sends it through this table, which only the central system reads; the command row keeps
-- a redacted payload. The sender takes (deletes) the row when it claims the command.
CREATE TABLE wattline_admin.command_secrets (
    command_id  bigint PRIMARY KEY,
    value       text NOT NULL
);

CREATE OR REPLACE FUNCTION wattline.is_authorization_key(payload jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- OCPP configuration keys are CiString50: compared without case.
    SELECT jsonb_typeof(payload) = 'object' AND lower(payload ->> 'key') = 'authorizationkey'
$$;

-- Whoever inserts the command (CLI, dashboard, SQL by hand), the clear key never lands in it.
CREATE OR REPLACE FUNCTION wattline_admin.keep_command_secret() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.action = 'ChangeConfiguration' AND wattline.is_authorization_key(NEW.payload)
       AND NEW.payload ? 'value' THEN
        INSERT INTO wattline_admin.command_secrets (command_id, value)
        VALUES (NEW.id, NEW.payload ->> 'value')
        ON CONFLICT (command_id) DO UPDATE SET value = EXCLUDED.value;
        NEW.payload := jsonb_set(NEW.payload, '{value}', '"[redacted]"');
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER commands_keep_secret BEFORE INSERT OR UPDATE OF payload ON wattline.commands
    FOR EACH ROW EXECUTE FUNCTION wattline_admin.keep_command_secret();

-- What a payload shows the reader: no AuthorizationKey value (ChangeConfiguration's request,
-- or a GetConfiguration answer that lists it) and no id tag (a bearer token for charging).
CREATE OR REPLACE FUNCTION wattline.redact_payload(payload jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    result jsonb;
BEGIN
    CASE jsonb_typeof(payload)
    WHEN 'object' THEN
        SELECT coalesce(jsonb_object_agg(key, CASE
                   WHEN lower(key) IN ('idtag', 'parentidtag') AND jsonb_typeof(value) = 'string'
                       THEN '"[redacted]"'::jsonb
                   WHEN lower(key) = 'value' AND wattline.is_authorization_key(payload)
                       THEN '"[redacted]"'::jsonb
                   ELSE wattline.redact_payload(value) END), '{}')
          INTO result FROM jsonb_each(payload);
        RETURN result;
    WHEN 'array' THEN
        SELECT coalesce(jsonb_agg(wattline.redact_payload(e) ORDER BY n), '[]')
          INTO result FROM jsonb_array_elements(payload) WITH ORDINALITY AS a (e, n);
        RETURN result;
    ELSE
        RETURN payload;
    END CASE;
END $$;

-- A frame that was not JSON is shown only when nothing in it looks like a secret.
CREATE OR REPLACE FUNCTION wattline.redact_raw(raw text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN raw IS NULL THEN NULL
                WHEN raw ~* '(idtag|authorizationkey)'
                    THEN '[redacted: ' || length(raw) || ' characters]'
                ELSE raw END
$$;

-- Frames already stored: the AuthorizationKey values go (ocpp_messages is raw-frame audit, the
-- id tags stay there for the central system's own use; the reader sees ocpp_log instead).
UPDATE wattline.commands
   SET payload = payload
 WHERE action = 'ChangeConfiguration' AND wattline.is_authorization_key(payload);
UPDATE wattline.ocpp_messages
   SET payload = jsonb_set(payload, '{value}', '"[redacted]"')
 WHERE action = 'ChangeConfiguration' AND direction = 'out'
   AND wattline.is_authorization_key(payload) AND payload ? 'value';
DELETE FROM wattline_admin.command_secrets
 WHERE command_id IN (SELECT id FROM wattline.commands WHERE status <> 'requested');

-- The reader's views of the relations that carry secrets (grants.sql revokes the tables).
CREATE VIEW wattline.ocpp_log AS
SELECT time, charge_point_id, direction, message_type, message_id, action,
       wattline.redact_payload(payload) AS payload, wattline.redact_raw(raw) AS raw
  FROM wattline.ocpp_messages;

CREATE VIEW wattline.command_log AS
SELECT id, charge_point_id, action, wattline.redact_payload(payload) AS payload, status,
       requested_by, requested_at, sent_at, answered_at,
       wattline.redact_payload(response) AS response, error
  FROM wattline.commands;
