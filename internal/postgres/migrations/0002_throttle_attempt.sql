-- throttle_attempt does the whole of Store.Attempt in one round trip: it
-- creates or locks the key's row, decides from its count, and counts the
-- attempt unless the key must wait. After f failures the wait is 0 when f <
-- p_free and otherwise p_delays[f - p_free + 1] microseconds
-- (mfa.ThrottlePolicy.Delay, computed by the caller); counts past the end
-- of the array use its last element. Failures older than p_forget_us
-- microseconds are forgotten. It returns the microseconds still to wait, 0
-- when the attempt was counted.
CREATE FUNCTION throttle_attempt(p_key TEXT, p_now TIMESTAMPTZ, p_forget_us BIGINT, p_free INTEGER, p_delays BIGINT[])
RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
	f    INTEGER;
	last TIMESTAMPTZ;
	wait BIGINT;
BEGIN
	INSERT INTO throttle (key, failures, last_failure_at) VALUES (p_key, 0, p_now)
	ON CONFLICT (key) DO UPDATE SET failures = throttle.failures
	RETURNING failures, last_failure_at INTO f, last;
	IF f > 0 AND p_now >= last + p_forget_us * INTERVAL '1 microsecond' THEN
		f := 0;
	END IF;
	IF f > 0 AND f >= p_free THEN
		wait := p_delays[least(f - p_free, cardinality(p_delays) - 1) + 1]
			- (extract(epoch FROM p_now - last) * 1000000)::BIGINT;
		IF wait > 0 THEN
			RETURN wait;
		END IF;
	END IF;
	UPDATE throttle SET failures = f + 1, last_failure_at = p_now WHERE key = p_key;
	RETURN 0;
END
$$;
