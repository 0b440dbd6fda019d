"""A real SMTP server (aiosmtpd) for the email notifier's test.

Listens on 127.0.0.1:PORT, requires PLAIN or LOGIN with USER/PASSWORD (without TLS, which
loopback does not need), refuses RCPT for any address starting with "refuse", and prints one
JSON line per message received: the envelope, the login, every header in order and the
decoded MIME parts. Prints "ready" once it listens, or "port-taken" and exits when PORT
was bound by someone else meanwhile.

usage: sink.py PORT USER PASSWORD
"""

import asyncio
import email
import errno
import email.policy
import json
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse"):
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = [
            {"type": p.get_content_type(), "body": p.get_content()}
            for p in msg.walk()
            if not p.is_multipart()
        ]
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "login": session.auth_data.login.decode() if session.auth_data else None,
            "hello": session.host_name,
            "headers": [[k, str(v)] for k, v in msg.items()],
            "content_type": msg.get_content_type(),
            "parts": parts,
        }
        print(json.dumps(record), flush=True)
        return "250 Message accepted for delivery"


def main():
    port, user, password = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3].encode()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (user, password)
        return AuthResult(success=ok, auth_data=auth_data)

    controller = Controller(
        Sink(),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
        auth_required=True,
    )
    try:
        controller.start()
    except OSError as e:
        # The test chose the port before this bound it: it tries again on another.
        if e.errno == errno.EADDRINUSE:
            print("port-taken", flush=True)
            sys.exit(1)
        raise
    print("ready", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
