-- A user's e-mail address, for the notifications of changes to the
-- account's second factor: from the directory, or set by an administrator;
-- '' means none.
ALTER TABLE users ADD COLUMN mail TEXT NOT NULL DEFAULT '';
