-- Users come from a first factor: their own password ('local'), or an
-- account of the centre's (an LDAP directory, the system's PAM stack),
-- found again by its stable ID there when renamed.
ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
ALTER TABLE users ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX users_external ON users (source, external_id) WHERE external_id IS NOT NULL;
