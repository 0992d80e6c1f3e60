-- Browsers whose owner chose "Don't ask for a code on this browser": the
-- cookie's SHA-256 only, bound to one user.
CREATE TABLE trusted_browsers (
	token_hash   BYTEA       PRIMARY KEY,
	user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at   TIMESTAMPTZ NOT NULL,
	expires_at   TIMESTAMPTZ NOT NULL,
	last_used_at TIMESTAMPTZ NOT NULL,
	user_agent   TEXT        NOT NULL,
	addr         TEXT        NOT NULL
);
CREATE INDEX trusted_browsers_user_id ON trusted_browsers (user_id);
