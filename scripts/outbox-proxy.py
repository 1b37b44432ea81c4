#!/usr/bin/env python3
"""A plain-HTTP loopback window onto the test server's GET /dev/outbox, for the Swift suite.

Foundation's URLSession on Linux cannot trust an extra CA (no server-trust challenges, no CA
file setting), so the Swift tests read the outbox through this: `outbox-proxy.py <https base
url> <ca.pem> <port file>` listens on a free loopback port, writes it to <port file>, and answers
GET /dev/outbox?... with the TLS server's answer (verified against the test CA).

It also forwards GET /v1/devices/challenges with the four signing headers only (never
Authcore-Protocol-Version), so a test can play an app from before number matching. Nothing else.
"""
import http.server
import ssl
import sys
import urllib.error
import urllib.request

base, cafile, port_file = sys.argv[1:4]
context = ssl.create_default_context(cafile=cafile)


SIGNING = ("Authcore-Device-Id", "Authcore-Timestamp", "Authcore-Nonce", "Authcore-Signature")


class Outbox(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path.startswith("/dev/outbox"):
            headers = {}
        elif self.path == "/v1/devices/challenges":
            headers = {name: self.headers[name] for name in SIGNING if name in self.headers}
        else:
            self.send_error(404)
            return
        request = urllib.request.Request(base + self.path, headers=headers)
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as answer:
                body, status = answer.read(), answer.status
        except urllib.error.HTTPError as refused:  # the server's error answer, passed on
            body, status = refused.read(), refused.code
        except Exception as error:  # the Swift test shows the status and fails
            self.send_error(502, type(error).__name__)
            return
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet: the outbox holds codes
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Outbox)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os  # noqa: E402

os.replace(port_file + ".tmp", port_file)
server.serve_forever()
