# jupyterhub_config.py: JupyterHub signing its users in with otpgate's
# OpenID Connect provider, through OAuthenticator's GenericOAuthenticator
# (OAuthenticator 17.1 or later: pip install oauthenticator; Debian does not
# package it). The hub's login page offers "Sign in with otpgate"; otpgate
# asks the password, then the code (and sets up TOTP first where the second
# factor is required); members of the otpgate group jupyter get in.
#
# Register the hub with otpgate first; the command prints the client_id and
# the secret, once:
#
#   otpgate client add jupyterhub \
#     --redirect-uri https://hub.example.org/hub/oauth_callback \
#     --post-logout-redirect-uri https://hub.example.org/hub/login \
#     --require-second-factor
#
# Replace hub.example.org (the hub) and auth.example.org (otpgate's
# -base-url, the issuer).

c = get_config()  # noqa: F821 (JupyterHub defines it)

c.JupyterHub.authenticator_class = "generic-oauth"
c.GenericOAuthenticator.login_service = "otpgate"

# The client otpgate registered. Leave client_secret out to take it from
# the environment variable OAUTH_CLIENT_SECRET instead.
c.GenericOAuthenticator.client_id = "jupyterhub"
c.GenericOAuthenticator.client_secret = "REPLACE-WITH-THE-CLIENT-SECRET"
c.GenericOAuthenticator.oauth_callback_url = "https://hub.example.org/hub/oauth_callback"

# otpgate's endpoints, as its discovery document
# (https://auth.example.org/.well-known/openid-configuration) names them:
# GenericOAuthenticator does not read discovery.
c.GenericOAuthenticator.authorize_url = "https://auth.example.org/oidc/authorize"
c.GenericOAuthenticator.token_url = "https://auth.example.org/oidc/token"
c.GenericOAuthenticator.userdata_url = "https://auth.example.org/oidc/userinfo"

# client_secret_post: the id and secret in the token request's body, not
# in an Authorization header.
c.GenericOAuthenticator.basic_auth = False
# PKCE (S256) on top of the secret.
c.GenericOAuthenticator.enable_pkce = True

c.GenericOAuthenticator.scope = ["openid", "profile", "email", "groups"]
# The hub's user names are otpgate's.
c.GenericOAuthenticator.username_claim = "preferred_username"

# Who gets in: the groups claim of the userinfo answer becomes the user's
# JupyterHub groups (manage_groups), and members of jupyter may sign in,
# members of jupyter-admins as the hub's administrators.
c.GenericOAuthenticator.manage_groups = True
c.GenericOAuthenticator.auth_state_groups_key = "oauth_user.groups"
c.GenericOAuthenticator.allowed_groups = {"jupyter"}
c.GenericOAuthenticator.admin_groups = {"jupyter-admins"}

# Signing out of the hub signs out of otpgate too (RP-initiated logout),
# and comes back to the hub's login page (registered above as
# --post-logout-redirect-uri).
c.GenericOAuthenticator.logout_redirect_url = (
    "https://auth.example.org/oidc/end_session"
    "?client_id=jupyterhub"
    "&post_logout_redirect_uri=https%3A%2F%2Fhub.example.org%2Fhub%2Flogin"
)
