-- Machines registered to ask for second-factor checks over PAM
-- (pam_otpgate), each known by the SHA-256 of its token: the token itself
-- is shown once and never stored.
CREATE TABLE hosts (
	id             INTEGER PRIMARY KEY,
	name           TEXT    NOT NULL UNIQUE,
	token_hash     BLOB    NOT NULL UNIQUE,
	allow_password INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER NOT NULL
);
