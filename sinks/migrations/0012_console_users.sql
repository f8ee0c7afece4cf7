-- leadsync 0012: the console's users, their sessions, and the sign-in failures that throttle
-- guessing (issue #14 point 1).
--
-- * console_users: a user of an account (role admin or member) or the platform operator
--   (role operator, no account). An email is one user in the whole install, whatever its
--   case (kept in lower case), so signing in takes only an email and a password: the user
--   then yields the account. The password is an argon2id hash (admin.console.passwords).
-- * console_sessions: a signed-in browser. Only the SHA-256 of the session cookie's token is
--   kept (256 random bits: a plain hash is enough, as for API tokens), so the table gives
--   nobody a session to replay. Each session has its CSRF token. A session ends when it was
--   idle too long, when it is too old whatever its use (the settings say how long), at
--   sign-out, and at once when its user or the user's account is disabled.
-- * console_sign_in_failures: one row per refused sign-in, by the SHA-256 of the email typed
--   (someone typing a password into the email field leaves no password here) and by client
--   address; admin.console.auth_pages refuses to check more passwords once either has too
--   many in its window. A sign-in that succeeds deletes none of them.
--
-- These are global tables, like accounts and account_tokens: sign-in happens before an
-- account is known. No row-level security; every query names the user or the account.

CREATE TABLE console_users (
    id             bigserial PRIMARY KEY,
    email          text NOT NULL CHECK (email = lower(email) AND email LIKE '%_@_%'),
    account_id     bigint REFERENCES accounts (id) ON DELETE CASCADE,
    role           text NOT NULL CHECK (role IN ('admin', 'member', 'operator')),
    password_hash  text NOT NULL,
    status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled_at    timestamptz,
    CONSTRAINT console_users_email_key UNIQUE (email),
    -- The operator belongs to no account; every other user to exactly one.
    CHECK ((role = 'operator') = (account_id IS NULL)),
    CHECK ((status = 'disabled') = (disabled_at IS NOT NULL))
);
CREATE INDEX console_users_account_idx ON console_users (account_id);

CREATE TABLE console_sessions (
    token_sha256  bytea PRIMARY KEY CHECK (length(token_sha256) = 32),
    user_id       bigint NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
    csrf_token    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX console_sessions_user_idx ON console_sessions (user_id);

CREATE TABLE console_sign_in_failures (
    id            bigserial PRIMARY KEY,
    email_sha256  bytea NOT NULL CHECK (length(email_sha256) = 32),
    client        text NOT NULL,
    failed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX console_sign_in_failures_email_idx ON console_sign_in_failures (email_sha256, failed_at);
CREATE INDEX console_sign_in_failures_client_idx ON console_sign_in_failures (client, failed_at);

-- The processes' role (migration 0008) reads and writes them; the default privileges cover
-- tables made by the role that ran 0008, these grants any other owner.
GRANT SELECT, INSERT, UPDATE, DELETE
    ON console_users, console_sessions, console_sign_in_failures TO leadsync_app;
GRANT USAGE, SELECT ON console_users_id_seq, console_sign_in_failures_id_seq TO leadsync_app;
