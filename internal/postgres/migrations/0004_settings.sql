-- settings holds values every instance must agree on, by name. key_check is
-- a known text sealed with the secret key by the first instance to start:
-- an instance whose key does not open it refuses to start (mfa.CheckKey).
CREATE TABLE settings (
	name  TEXT  PRIMARY KEY,
	value BYTEA NOT NULL
);
