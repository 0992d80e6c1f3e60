-- The admin pages search users by a prefix of their name: an index whose
-- order is the bytes', which LIKE 'prefix%' can use whatever the
-- database's collation.
CREATE INDEX users_name_prefix ON users (name text_pattern_ops);
