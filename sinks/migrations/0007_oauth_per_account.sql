-- leadsync 0007: an account connects its own LinkedIn member, through the OAuth redirect the
-- admin process serves. The authorization's `state` is bound to the account and single-use
-- (kept as its SHA-256). A connection belongs to the account that made it: the same member
-- connected by two accounts is two connections. Connections made before accounts (and by
-- `leadsync linkedin connect`) have none yet; the accounts issue's next step gives every
-- row its account.
CREATE TABLE oauth_states (
    state_sha256  bytea PRIMARY KEY CHECK (length(state_sha256) = 32),
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    used_at       timestamptz
);

ALTER TABLE linkedin_connections
    ADD COLUMN account_id bigint REFERENCES accounts (id) ON DELETE CASCADE;
ALTER TABLE linkedin_connections DROP CONSTRAINT linkedin_connections_member_urn_key;
ALTER TABLE linkedin_connections
    ADD CONSTRAINT linkedin_connections_account_member_key
    UNIQUE NULLS NOT DISTINCT (account_id, member_urn);
