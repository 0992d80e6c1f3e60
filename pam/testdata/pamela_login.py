"""Signs in as JupyterHub 5's PAMAuthenticator does with request_otp: pamela
answers PAM's hidden prompts in order (the password, then the code), gives
nothing to visible prompts, and fails the conversation at a third hidden
prompt; then, as check_account does, acct_mgmt on a handle of its own.

Usage: pamela_login.py SERVICE USER ANSWER...; prints "authenticate N" and,
when that passed, "account N" (PAM return codes).
"""
import sys

import pamela

service, user, answers = sys.argv[1], sys.argv[2], sys.argv[3:]
# Kept in a variable: libpam calls it after pam_start returns.
conv = pamela.new_simple_password_conv(answers, "utf-8")
handle = pamela.pam_start(service, user, conv_func=conv)
rv = pamela.PAM_AUTHENTICATE(handle, 0)
pamela.PAM_END(handle, rv)
print("authenticate", rv)
if rv == 0:
    handle = pamela.pam_start(service, user)
    rv = pamela.PAM_ACCT_MGMT(handle, 0)
    pamela.PAM_END(handle, rv)
    print("account", rv)
