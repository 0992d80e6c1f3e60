-- A user's display name and groups, for access rules and forward-auth's
-- identity headers. group_names is the sorted, comma-separated list of
-- valid group names (which hold no comma); '' means none.
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN group_names  TEXT NOT NULL DEFAULT '';
