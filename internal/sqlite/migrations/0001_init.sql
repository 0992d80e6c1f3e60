-- Times are Unix nanoseconds (UTC); NULL means "not yet".

CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	name          TEXT    NOT NULL UNIQUE,
	password_hash TEXT    NOT NULL,
	admin         INTEGER NOT NULL DEFAULT 0,
	disabled      INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL
);

-- One row per authenticator app; a user may have several. last_step is the
-- last TOTP step accepted: UseStep moves it forward in one conditional
-- UPDATE, so a step is accepted at most once.
CREATE TABLE authenticators (
	id             TEXT    PRIMARY KEY,
	user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name           TEXT    NOT NULL,
	sealed_secret  BLOB    NOT NULL,
	algorithm      TEXT    NOT NULL,
	digits         INTEGER NOT NULL,
	period_seconds INTEGER NOT NULL,
	created_at     INTEGER NOT NULL,
	confirmed_at   INTEGER,
	last_used_at   INTEGER,
	last_step      INTEGER
);
CREATE INDEX authenticators_user_id ON authenticators (user_id);

CREATE TABLE recovery_codes (
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	hash       BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	used_at    INTEGER,
	PRIMARY KEY (user_id, hash)
);

CREATE TABLE sessions (
	token_hash   BLOB    PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	level        INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE setup_tokens (
	hash       BLOB    PRIMARY KEY,
	expires_at INTEGER NOT NULL
);

CREATE TABLE throttle (
	key             TEXT    PRIMARY KEY,
	failures        INTEGER NOT NULL,
	last_failure_at INTEGER NOT NULL
);
