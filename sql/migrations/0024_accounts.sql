-- Accounts (issue 16): who owns meters and id tags, for the API's `self` tokens. A self token
-- names its account; it sees that account's meters, id tags and the sessions charged with those
-- id tags, and nothing else. The settlement estimator defaults to the account's first meter,
-- the one registered first (created_at, then serial, so the choice is stable).
CREATE TABLE wattline.accounts (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    name        text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE wattline.meter_registry
    ADD COLUMN account_id text REFERENCES wattline.accounts (id) ON DELETE SET NULL;
ALTER TABLE wattline.id_tags
    ADD COLUMN account_id text REFERENCES wattline.accounts (id) ON DELETE SET NULL;
CREATE INDEX meter_registry_account ON wattline.meter_registry (account_id, created_at, serial)
    WHERE account_id IS NOT NULL;
CREATE INDEX id_tags_account ON wattline.id_tags (account_id) WHERE account_id IS NOT NULL;
-- Sessions by id tag, for an account's sessions (and the API's id_tag filter).
CREATE INDEX transactions_id_tag ON wattline.transactions (id_tag, started_at DESC);
