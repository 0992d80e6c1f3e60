"""Runs pam_authenticate through pypamtest (libpam-wrapper), whose
conversation answers hidden (echo-off) and visible (echo-on) prompts from
separate lists.

Usage: pypamtest_login.py SERVICE USER WANT_RV HIDDEN_JSON VISIBLE_JSON;
prints "pass" and the messages shown, or "fail" and why.
"""
import json
import sys

import pypamtest

service, user, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
hidden, visible = json.loads(sys.argv[4]), json.loads(sys.argv[5])
tc = pypamtest.TestCase(pypamtest.PAMTEST_AUTHENTICATE, expected_rv=want)
try:
    res = pypamtest.run_pamtest(user, service, [tc], hidden, visible)
except pypamtest.PamTestError as e:
    print("fail", e)
    sys.exit(0)
print("pass", json.dumps({"info": list(res.info), "errors": list(res.errors)}))
