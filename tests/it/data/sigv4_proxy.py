#!/usr/bin/env python3
"""A stand-in for an AMP workspace's query API in front of a real Prometheus:
verifies each request's SigV4 signature (service `aps`) with botocore, as AWS
would, against a known key, then forwards it; answers 403 with AWS's message
otherwise. Prints its port on the first line of stdout.

    sigv4_proxy.py UPSTREAM_URL REGION ACCESS_KEY SECRET_KEY
"""
import http.server
import json
import sys
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

UPSTREAM, REGION, KEY, SECRET = sys.argv[1:5]


def expected_signature(handler, signed_headers, timestamp):
    host = handler.headers["Host"]
    req = AWSRequest(method=handler.command, url=f"http://{host}{handler.path}", data=b"")
    for name in signed_headers:
        req.headers[name] = handler.headers.get(name, "")
    req.context["timestamp"] = timestamp
    auth = SigV4Auth(Credentials(KEY, SECRET), "aps", REGION)
    canonical = auth.canonical_request(req)
    return auth.signature(auth.string_to_sign(req, canonical), req)


class Handler(http.server.BaseHTTPRequestHandler):
    def deny(self, message):
        body = json.dumps({"message": message}).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return self.deny("Missing Authentication Token")
        parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        key, date, region, service, _ = parts["Credential"].split("/")
        if key != KEY:
            return self.deny("The security token included in the request is invalid.")
        if region != REGION or service != "aps":
            return self.deny(f"Credential should be scoped to a valid region and service aps, not {region}/{service}.")
        timestamp = self.headers.get("X-Amz-Date", "")
        want = expected_signature(self, parts["SignedHeaders"].split(";"), timestamp)
        if want != parts["Signature"]:
            return self.deny("The request signature we calculated does not match the signature you provided.")
        with urllib.request.urlopen(UPSTREAM + self.path) as up:
            body = up.read()
            self.send_response(up.status)
            self.send_header("Content-Type", up.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
