#!/usr/bin/python3
"""A real SMTP server for postroom's tests (aiosmtpd, Debian's python3-aiosmtpd).

Listens on 127.0.0.1 on a free port and prints "READY <port>" on stdout.
Every accepted message is written to DIR as NNNN.eml (the bytes exactly as
received) with NNNN.json beside it (envelope sender, recipients, the user
that authenticated, whether the session used TLS, the client's address and
port, which tells one connection from another).

Scripted replies: if DIR/script.json exists, it is a JSON list of SMTP
replies ("451 4.3.0 Try again later", "550 5.1.1 No such user"); each DATA
command takes the first one off the list and answers with it instead of
accepting the message. An empty list, or no file, accepts everything.

Held replies: while DIR/hold exists, each accepted message is written at
once and its 250 reply waits until the file is removed.

With --introspect URL the server offers AUTH XOAUTH2 and asks that OAuth2
introspection endpoint whether the bearer token is active and belongs to
the user (as Exchange Online checks a token against Entra ID).
"""
import argparse
import asyncio
import base64
import json
import os
import socket
import ssl
import sys
import urllib.parse
import logging
import urllib.request

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


IMPLICIT_TLS = False
INTROSPECT = None

# aiosmtpd logs a deprecation of its own login_data whenever AUTH succeeds.
logging.getLogger("mail.log").addFilter(lambda record: "login_data" not in record.getMessage())


def token_user(token):
    """The user an access token belongs to, if the introspection endpoint says it is active."""
    body = urllib.parse.urlencode({"token": token}).encode()
    with urllib.request.urlopen(INTROSPECT, data=body, timeout=10) as r:
        answer = json.load(r)
    return answer.get("username") if answer.get("active") else None


def auth_name(session):
    data = getattr(session, "auth_data", None) if getattr(session, "authenticated", False) else None
    if isinstance(data, bytes):
        return data.decode()
    return data


class Handler:
    def __init__(self, directory):
        self.directory = directory
        # After a restart, numbering goes on from what is already there.
        self.count = len([f for f in os.listdir(directory) if f.endswith(".eml")])

    def next_scripted(self):
        path = os.path.join(self.directory, "script.json")
        try:
            with open(path) as f:
                script = json.load(f)
        except FileNotFoundError:
            return None
        if not script:
            return None
        reply = script.pop(0)
        with open(path + ".tmp", "w") as f:
            json.dump(script, f)
        os.replace(path + ".tmp", path)
        return reply

    async def auth_XOAUTH2(self, server, args):
        """SASL XOAUTH2: base64 of "user=U^Aauth=Bearer T^A^A" (initial response or after a 334)."""
        if INTROSPECT is None:
            return AuthResult(success=False, handled=False)
        if len(args) > 1:
            blob = args[1]
        else:
            blob = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(blob, bytes):
                return AuthResult(success=False, handled=False)
        try:
            fields = dict(
                part.split("=", 1) for part in base64.b64decode(blob).decode().split("\x01") if "=" in part
            )
        except Exception:
            return AuthResult(success=False, handled=False, message="501 5.5.2 Cannot decode XOAUTH2")
        user = fields.get("user")
        bearer = fields.get("auth", "")
        token = bearer[len("Bearer "):] if bearer.startswith("Bearer ") else ""
        owner = await asyncio.get_running_loop().run_in_executor(None, token_user, token)
        if owner is None or owner != user:
            return AuthResult(success=False, handled=False, message="535 5.7.3 Authentication unsuccessful")
        return AuthResult(success=True, auth_data=user)

    async def handle_DATA(self, server, session, envelope):
        scripted = self.next_scripted()
        if scripted and not scripted.startswith("250"):
            return scripted
        self.count += 1
        stem = os.path.join(self.directory, "%04d" % self.count)
        with open(stem + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth": auth_name(session),
            "tls": session.ssl is not None or IMPLICIT_TLS,
            # The client's address and port: one per connection.
            "peer": "%s:%s" % tuple(session.peer[:2]),
        }
        with open(stem + ".json", "w") as f:
            json.dump(meta, f)
        os.replace(stem + ".eml.tmp", stem + ".eml")
        # While DIR/hold exists, the reply waits: the message is kept (above)
        # and the client hears its 250 when the file goes.
        while os.path.exists(os.path.join(self.directory, "hold")):
            await asyncio.sleep(0.05)
        return "250 2.0.0 Message accepted"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--introspect")
    args = parser.parse_args()
    global INTROSPECT
    INTROSPECT = args.introspect

    tls_context = None
    if args.cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.cert, args.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            ok = auth_data.login.decode() == args.user and auth_data.password.decode() == args.password
            return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)
        return AuthResult(success=False, handled=False)

    global IMPLICIT_TLS
    IMPLICIT_TLS = args.implicit_tls
    handler = Handler(args.dir)

    def factory():
        kwargs = {}
        if args.user or args.introspect:
            kwargs["authenticator"] = authenticator
            # With implicit TLS the whole connection is encrypted before SMTP
            # starts, which aiosmtpd's STARTTLS bookkeeping does not see.
            kwargs["auth_require_tls"] = tls_context is not None and not args.implicit_tls
        if tls_context is not None and not args.implicit_tls:
            kwargs["tls_context"] = tls_context
            kwargs["require_starttls"] = True
        return SMTP(handler, hostname="smtp.test.invalid", **kwargs)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(factory, sock=sock, ssl=tls_context if args.implicit_tls else None)
    )
    print("READY %d" % port, flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())
