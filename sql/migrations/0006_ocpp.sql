-- OCPP central system: frames that were not OCPP at all are kept too, and commands reach the
-- process holding the charge point's connection without it polling.

-- A frame that is not JSON (or not an OCPP message) has no message type; it is still kept, raw.
ALTER TABLE wattline.ocpp_messages ALTER COLUMN message_type DROP NOT NULL;

-- Whoever inserts a command (dashboard, CLI, SQL by hand) wakes the central systems: the
-- trigger NOTIFYs with the charge point's id, so no writer can forget to.
CREATE OR REPLACE FUNCTION wattline.notify_command() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wattline_commands', NEW.charge_point_id);
    RETURN NEW;
END $$;

CREATE TRIGGER commands_notify AFTER INSERT ON wattline.commands
    FOR EACH ROW EXECUTE FUNCTION wattline.notify_command();
