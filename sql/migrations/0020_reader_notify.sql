-- The reader role (the dashboard, reporting tools) must not wake the central systems: NOTIFY
-- takes no privilege, but pg_notify() is a function, executable by PUBLIC. Only the
-- commands_notify trigger needs it, so it runs as its owner (the role that migrates) and
-- PUBLIC loses EXECUTE. The NOTIFY statement itself cannot be revoked from anyone; a forged
-- NOTIFY on wattline_commands only makes the central system look for `requested` rows, which
-- the reader cannot insert (tests/integration/ocpp/test_reader_notify.py).
ALTER FUNCTION wattline.notify_command() SECURITY DEFINER SET search_path = pg_catalog;

-- pg_notify belongs to the bootstrap superuser: only a superuser can change who may run it. A
-- migrating role that is not one leaves it as it was, and says so.
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        REVOKE EXECUTE ON FUNCTION pg_catalog.pg_notify(text, text) FROM PUBLIC;
    ELSE
        RAISE NOTICE 'pg_notify stays executable by PUBLIC: % is not a superuser', current_user;
    END IF;
END $$;
