-- The acr_values an authorization request asked for (a JSON array): one
-- of them can require a second factor before its code is issued.
ALTER TABLE oidc_auth_requests ADD COLUMN acr_values TEXT NOT NULL DEFAULT '[]';
