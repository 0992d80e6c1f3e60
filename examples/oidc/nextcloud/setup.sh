#!/bin/sh
# Nextcloud signing its users in with otpgate, through Nextcloud's user_oidc
# app (OpenID Connect user backend, version 8 or later). Nextcloud's login
# page gets a "Log in with otpgate" button (or sends everyone straight
# there, step 3); otpgate asks the password, then the code, and sets up TOTP
# first where the second factor is required; Nextcloud creates the account
# on first sign-in with the name, email and groups otpgate sends.
#
# Nextcloud does not start its own two-factor authentication after an
# OpenID Connect sign-in: user_oidc signs the session in directly, and
# Nextcloud's second-factor providers are never asked. otpgate's code is
# the second factor, and --require-second-factor below makes otpgate issue
# no ID token to Nextcloud for a sign-in without one.
#
# Replace cloud.example.org (Nextcloud) and auth.example.org (otpgate's
# -base-url, the issuer). The paths are those of a Nextcloud with pretty
# URLs (htaccess.RewriteBase set); without them Nextcloud's URLs have
# "/index.php" before "/apps/": register them so, since otpgate compares
# redirect URIs exactly.
set -eu

# 1. On otpgate's host: register Nextcloud. The command prints the client_id
#    and the secret, once; keep the secret for step 2.
otpgate client add nextcloud \
  --redirect-uri https://cloud.example.org/apps/user_oidc/code \
  --post-logout-redirect-uri https://cloud.example.org/ \
  --backchannel-logout-uri https://cloud.example.org/apps/user_oidc/backchannel-logout/otpgate \
  --require-second-factor

# 2. On Nextcloud's host, as the web server's user: the provider, named
#    otpgate (the last part of the back-channel logout URI above).
#    - The discovery document gives every endpoint; user_oidc uses PKCE
#      (S256) when the document lists it, as otpgate's does, and sends the
#      secret in the token request's body (client_secret_post).
#    - --unique-uid=0 with --mapping-uid=preferred_username: Nextcloud's
#      user IDs are otpgate's user names (with the default, a hash of the
#      provider and the sub claim).
#    - --mapping-groups=groups with --group-provisioning=1: the groups claim
#      becomes Nextcloud group membership, groups created as needed.
#    - --send-id-token-hint=1: signing out of Nextcloud goes to otpgate's
#      end-session endpoint with the ID token, which ends otpgate's session
#      too, and comes back to --postlogouturi (registered above).
OCC="sudo -u www-data php /var/www/nextcloud/occ"
$OCC app:install user_oidc || $OCC app:enable user_oidc
$OCC user_oidc:provider otpgate \
  --clientid=nextcloud \
  --clientsecret="REPLACE-WITH-THE-CLIENT-SECRET" \
  --discoveryuri=https://auth.example.org/.well-known/openid-configuration \
  --scope="openid profile email groups" \
  --unique-uid=0 \
  --mapping-uid=preferred_username \
  --mapping-display-name=name \
  --mapping-email=email \
  --mapping-groups=groups \
  --group-provisioning=1 \
  --send-id-token-hint=1 \
  --postlogouturi=https://cloud.example.org/

# PKCE is user_oidc's default; say so in config.php so that it stays on:
#   'user_oidc' => [ 'use_pkce' => true ],
$OCC config:system:set user_oidc use_pkce --type=boolean --value=true

# 3. (Optional) otpgate as the only way in: the login page sends everyone to
#    otpgate. Administrators can still use Nextcloud's own form with
#    /login?direct=1.
$OCC config:app:set --type=string --value=0 user_oidc allow_multiple_user_backends
