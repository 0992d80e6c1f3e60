-- Rules that require a second factor of some groups from a deadline, set
-- by administrators on the admin pages; they apply with the -enforce-file's.
-- group_names and except_groups are comma-separated, as users' groups are;
-- deadline is a date, YYYY-MM-DD, whose day starts in the server's zone.
-- AUTOINCREMENT: the ID of a removed rule is never given to a new one, so
-- that a page showing the old rule cannot change the new.
CREATE TABLE enforce_rules (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	group_names   TEXT    NOT NULL CHECK (group_names <> ''),
	deadline      TEXT    NOT NULL CHECK (length(deadline) = 10),
	except_groups TEXT    NOT NULL DEFAULT '',
	updated_at    INTEGER NOT NULL,
	updated_by    TEXT    NOT NULL DEFAULT ''
);
