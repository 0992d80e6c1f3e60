-- settings holds values the store keeps by name. key_check is a known text
-- sealed with the secret key when the server first starts on this store:
-- a server given another key refuses to start (mfa.CheckKey).
CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
);
