-- The OpenID Connect provider's state (package oidcstate), shared by every
-- instance. Client secrets, codes and refresh tokens are kept as their
-- SHA-256 only, private signing keys sealed. Lists (scopes, URIs, AMR) are
-- JSON arrays of strings, as in the SQLite store.

-- Relying parties registered by the operator (otpgate client add); a
-- public client has no secret, a confidential one has one.
CREATE TABLE oidc_clients (
	id                        TEXT COLLATE "C" PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
	secret_hash               BYTEA       CHECK (length(secret_hash) = 32),
	redirect_uris             TEXT        NOT NULL,
	post_logout_redirect_uris TEXT        NOT NULL,
	backchannel_logout_uri    TEXT        NOT NULL,
	is_public                 BOOLEAN     NOT NULL,
	require_second_factor     BOOLEAN     NOT NULL,
	created_at                TIMESTAMPTZ NOT NULL,
	CHECK (is_public = (secret_hash IS NULL))
);

-- Authorization requests, from the authorize endpoint to the redemption of
-- their code. user_id and the columns after it are set once a user signed
-- in; code_hash once the code is issued. Redeeming deletes the row, in one
-- DELETE ... RETURNING: whichever instance asks, one redemption finds it.
CREATE TABLE oidc_auth_requests (
	id                    TEXT        PRIMARY KEY,
	client_id             TEXT COLLATE "C" NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
	redirect_uri          TEXT        NOT NULL,
	scopes                TEXT        NOT NULL,
	state                 TEXT        NOT NULL,
	nonce                 TEXT        NOT NULL,
	response_type         TEXT        NOT NULL,
	response_mode         TEXT        NOT NULL,
	code_challenge        TEXT        NOT NULL,
	code_challenge_method TEXT        NOT NULL,
	prompt                TEXT        NOT NULL,
	max_age               BIGINT      NOT NULL,
	login_hint            TEXT        NOT NULL,
	created_at            TIMESTAMPTZ NOT NULL,
	user_id               BIGINT      REFERENCES users (id) ON DELETE CASCADE,
	auth_time             TIMESTAMPTZ,
	amr                   TEXT        NOT NULL DEFAULT '[]',
	sid                   TEXT        NOT NULL DEFAULT '',
	code_hash             BYTEA       UNIQUE,
	code_expires_at       TIMESTAMPTZ
);
CREATE INDEX oidc_auth_requests_client_id ON oidc_auth_requests (client_id);
CREATE INDEX oidc_auth_requests_user_id ON oidc_auth_requests (user_id);
CREATE INDEX oidc_auth_requests_created_at ON oidc_auth_requests (created_at);

-- One row per grant that issued refresh tokens: what every token rotated
-- from it shares. Rotations and revocations lock it first, so that they
-- take turns per family on every instance; deleting it deletes its tokens.
CREATE TABLE oidc_refresh_families (
	family    TEXT   PRIMARY KEY,
	client_id TEXT COLLATE "C" NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
	user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	sid       TEXT   NOT NULL
);
CREATE INDEX oidc_refresh_families_user_client ON oidc_refresh_families (user_id, client_id);
CREATE INDEX oidc_refresh_families_client_id ON oidc_refresh_families (client_id);
CREATE INDEX oidc_refresh_families_sid ON oidc_refresh_families (sid);

-- Refresh tokens by their SHA-256. A used one stays until it expires, so
-- that its second use is seen (and revokes the family).
CREATE TABLE oidc_refresh_tokens (
	hash       BYTEA       PRIMARY KEY CHECK (length(hash) = 32),
	family     TEXT        NOT NULL REFERENCES oidc_refresh_families (family) ON DELETE CASCADE,
	scopes     TEXT        NOT NULL,
	audience   TEXT        NOT NULL,
	amr        TEXT        NOT NULL,
	auth_time  TIMESTAMPTZ,
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL,
	used       BOOLEAN     NOT NULL DEFAULT FALSE
);
CREATE INDEX oidc_refresh_tokens_family ON oidc_refresh_tokens (family);
CREATE INDEX oidc_refresh_tokens_expires_at ON oidc_refresh_tokens (expires_at);

-- Opaque access tokens by ID. refresh_family ('' for none) has no foreign
-- key: an access token may be stored before the refresh token issued with
-- it; the store deletes a family's access tokens with it.
CREATE TABLE oidc_access_tokens (
	id             TEXT        PRIMARY KEY,
	client_id      TEXT COLLATE "C" NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
	user_id        BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	scopes         TEXT        NOT NULL,
	audience       TEXT        NOT NULL,
	refresh_family TEXT        NOT NULL,
	sid            TEXT        NOT NULL,
	expires_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX oidc_access_tokens_user_client ON oidc_access_tokens (user_id, client_id);
CREATE INDEX oidc_access_tokens_client_id ON oidc_access_tokens (client_id);
CREATE INDEX oidc_access_tokens_refresh_family ON oidc_access_tokens (refresh_family) WHERE refresh_family <> '';
CREATE INDEX oidc_access_tokens_sid ON oidc_access_tokens (sid) WHERE sid <> '';
CREATE INDEX oidc_access_tokens_expires_at ON oidc_access_tokens (expires_at);

-- The provider's signing keys, private keys sealed with the server's key.
CREATE TABLE oidc_signing_keys (
	id         TEXT COLLATE "C" PRIMARY KEY,
	algorithm  TEXT        NOT NULL,
	sealed     BYTEA       NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	sign_from  TIMESTAMPTZ NOT NULL,
	retire_at  TIMESTAMPTZ
);

-- Which clients each browser session (by its sid) signed in to, for
-- logout; one user per sid.
CREATE TABLE oidc_session_clients (
	sid         TEXT        NOT NULL,
	client_id   TEXT COLLATE "C" NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
	user_id     BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	recorded_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (sid, client_id)
);
CREATE INDEX oidc_session_clients_user_id ON oidc_session_clients (user_id);
CREATE INDEX oidc_session_clients_client_id ON oidc_session_clients (client_id);
CREATE INDEX oidc_session_clients_recorded_at ON oidc_session_clients (recorded_at);
