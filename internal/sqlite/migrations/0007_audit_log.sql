-- The audit log: every sign-in step, code check, enrolment, change to a
-- factor and administrator's action. Never a password, a code or a
-- secret. Pruned by age and count (PruneAudit); indexed for the admin
-- page's filters, newest first.
CREATE TABLE audit_log (
	id        INTEGER PRIMARY KEY,
	at        INTEGER NOT NULL,
	user_name TEXT    NOT NULL DEFAULT '',
	actor     TEXT    NOT NULL DEFAULT '',
	addr      TEXT    NOT NULL DEFAULT '',
	path      TEXT    NOT NULL DEFAULT '',
	action    TEXT    NOT NULL,
	result    TEXT    NOT NULL,
	reason    TEXT    NOT NULL DEFAULT '',
	drift     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_user ON audit_log (user_name, id);
CREATE INDEX audit_log_result ON audit_log (result, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
