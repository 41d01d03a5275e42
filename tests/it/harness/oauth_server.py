#!/usr/bin/python3
"""A real OAuth2 authorisation server for postroom's tests, as far as
Microsoft's identity platform behaves for mail clients (standard library only).

  POST /<tenant>/oauth2/v2.0/token   client_credentials or refresh_token grant
  POST /introspect                   RFC 7662 token introspection (form token=...)
  POST /revoke-all                   every access token issued so far stops working

Dovecot's oauth2 passdb and the test SMTP server ask /introspect whether an
access token is good. Refresh tokens rotate on every use and the old one
stops working at once, which is stricter than Entra ID and so catches a
client that forgets to save the new one.

Listens on 127.0.0.1 on a free port and prints "READY <port>". Every token
request is appended to DIR/requests.jsonl (grant, scope, client id, whether
the secret was right, which refresh token was presented; never the secret).
"""
import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.issued = 0
        self.rotations = 1
        self.access = {}  # token -> username
        self.revoked = set()
        self.refresh = args.refresh_token

    def record(self, entry):
        with open(os.path.join(self.args.dir, "requests.jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\n")


def make_handler(state):
    args = state.args

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):
            pass

        def form(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            return {k: v[0] for k, v in parse_qs(body).items()}

        def reply(self, status, obj):
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            if self.path.endswith("/oauth2/v2.0/token"):
                return self.token()
            if self.path == "/introspect":
                return self.introspect()
            if self.path == "/revoke-all":
                with state.lock:
                    state.revoked.update(state.access)
                return self.reply(200, {"revoked": len(state.revoked)})
            self.reply(404, {"error": "not_found"})

        def token(self):
            f = self.form()
            grant = f.get("grant_type")
            secret_ok = f.get("client_secret") == args.secret if args.secret else None
            with state.lock:
                entry = {
                    "grant_type": grant,
                    "scope": f.get("scope"),
                    "client_id": f.get("client_id"),
                    "secret_ok": secret_ok,
                    "refresh_token": f.get("refresh_token"),
                }
                state.record(entry)
                if f.get("client_id") != args.client_id:
                    return self.reply(400, {"error": "unauthorized_client", "error_description": "AADSTS700016: unknown application"})
                if not f.get("scope"):
                    return self.reply(400, {"error": "invalid_request", "error_description": "AADSTS90014: scope is missing"})
                if grant == "client_credentials":
                    if not secret_ok:
                        return self.reply(401, {"error": "invalid_client", "error_description": "AADSTS7000215: invalid client secret"})
                    new_refresh = None
                elif grant == "refresh_token":
                    if f.get("refresh_token") != state.refresh:
                        return self.reply(400, {"error": "invalid_grant", "error_description": "AADSTS70000: the refresh token is not valid"})
                    state.rotations += 1
                    new_refresh = "rt-%d" % state.rotations
                    state.refresh = new_refresh
                else:
                    return self.reply(400, {"error": "unsupported_grant_type"})
                state.issued += 1
                access = "at-%d-%s" % (state.issued, os.urandom(6).hex())
                state.access[access] = args.user
            out = {"token_type": "Bearer", "access_token": access, "expires_in": args.lifetime}
            if new_refresh:
                out["refresh_token"] = new_refresh
            self.reply(200, out)

        def introspect(self):
            token = self.form().get("token", "")
            with state.lock:
                user = state.access.get(token)
                active = user is not None and token not in state.revoked
            if active:
                self.reply(200, {"active": True, "username": user})
            else:
                self.reply(200, {"active": False})

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--secret")
    parser.add_argument("--refresh-token", default="rt-1")
    parser.add_argument("--lifetime", type=int, default=3600)
    args = parser.parse_args()
    state = State(args)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    print("READY %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
