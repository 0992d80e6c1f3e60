-- Browsers whose owner chose "Don't ask for a code on this browser": the
-- cookie's SHA-256 only, bound to one user.
CREATE TABLE trusted_browsers (
	token_hash   BLOB    PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	user_agent   TEXT    NOT NULL,
	addr         TEXT    NOT NULL
);
CREATE INDEX trusted_browsers_user_id ON trusted_browsers (user_id);
