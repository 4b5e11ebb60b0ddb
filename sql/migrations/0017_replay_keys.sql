-- Replay keys for the two series without a natural key. A spool replay after a partial failure,
-- or a retry after a commit whose answer was lost, used to store a second copy of each frame
-- and reject. The writer now gives every such row a key when the row is handed to it and keeps
-- it (and the row's time) through retries and replays; the unique index makes the second copy
-- a no-op (ON CONFLICT DO NOTHING, sql/queries/ingest.sql). The time column is in the index
-- because TimescaleDB requires it of unique indexes on hypertables. Rows stored before this
-- migration have no key (NULLs never conflict).
ALTER TABLE wattline.ocpp_messages ADD COLUMN replay_key uuid;
ALTER TABLE wattline.ingest_rejects ADD COLUMN replay_key uuid;
CREATE UNIQUE INDEX ocpp_messages_replay_key ON wattline.ocpp_messages (replay_key, time);
CREATE UNIQUE INDEX ingest_rejects_replay_key ON wattline.ingest_rejects (replay_key, time);

-- Staging for rows that may be stored already (create_staging, 0004, has the keyed series').
CREATE FUNCTION wattline.create_replay_staging() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS stage_ocpp_messages
        (LIKE wattline.ocpp_messages INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS stage_ingest_rejects
        (LIKE wattline.ingest_rejects INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
END $$;
