"""A real SMTP server for the notify tests (Debian's python3-aiosmtpd).

Usage: smtpd.py PORT CERT KEY USER PASSWORD

Listens on 127.0.0.1 at PORT, offers STARTTLS with CERT and KEY and
requires it, and AUTH (after TLS) with USER and PASSWORD. Prints
"READY <port>", then one JSON line per message received:
{"from": ..., "to": [...], "data": ...}. Stops when standard input closes.
"""
import json
import logging
import warnings
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Handler:
    async def handle_DATA(self, server, session, envelope):
        print(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                          "data": envelope.content.decode("utf-8", "replace")}), flush=True)
        return "250 OK"


def main():
    warnings.simplefilter("ignore", DeprecationWarning)
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    port, cert, key, user, password = int(sys.argv[1]), *sys.argv[2:6]
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok)

    c = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
                   authenticator=authenticator, auth_require_tls=True, auth_required=True)
    c.start()
    print("READY %d" % port, flush=True)
    sys.stdin.read()
    c.stop()


if __name__ == "__main__":
    main()
