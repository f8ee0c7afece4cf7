-- leadsync 0006: accounts, the customers of the platform that runs leadsync (one leadsync
-- for all of them), and their API tokens. A token is stored only as its SHA-256 hash: the
-- account sees it once, when it is made. This is the first step of the accounts issue; the
-- account tables (contacts, forms as configured, ...) gain their account in later ones.
CREATE TABLE accounts (
    id           bigserial PRIMARY KEY,
    -- What operators type (`--account acme`): lower case letters, digits and hyphens.
    name         text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    disabled_at  timestamptz,
    CHECK ((status = 'disabled') = (disabled_at IS NOT NULL))
);

CREATE TABLE account_tokens (
    id            bigserial PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_sha256  bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
CREATE INDEX account_tokens_account_idx ON account_tokens (account_id);
