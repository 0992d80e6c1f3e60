-- Throttle keys are keyed hashes from now on (mfa.Cipher.ThrottleKey): the
-- rows kept so far hold typed names in clear, which may be passwords typed
-- into the name field. They go; stale rows are deleted by their last
-- failure, which the index finds.
DELETE FROM throttle;
CREATE INDEX throttle_last_failure ON throttle (last_failure_at);
