"""Relaybox from Python's standard library: send a message, read it back, verify a webhook.

    RELAYBOX_URL=http://127.0.0.1:8787 RELAYBOX_API_KEY=rbx_live_... python3 relaybox_example.py

It subscribes a webhook endpoint on this machine (RELAYBOX_WEBHOOK_HOST, default 127.0.0.1:
locally the server must run with WEBHOOK_ALLOW_LOCAL_HTTP=true; deployed, use a public https URL),
sends a message, reads it back and waits for its signed `message.sent` event. The key must be a
live key: test keys cannot create webhook endpoints. CI runs this file (test/examples/run.mjs).
"""

import hashlib
import hmac
import http.server
import json
import os
import queue
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

BASE_URL = os.environ.get("RELAYBOX_URL", "http://127.0.0.1:8787").rstrip("/")
API_KEY = os.environ["RELAYBOX_API_KEY"]
TO = os.environ.get("RELAYBOX_TO", "+8613800138000")


class RelayboxError(Exception):
    """A problem+json answer: `problem` has type, title, status, detail, request_id, errors."""

    def __init__(self, problem):
        super().__init__(f"{problem.get('status')} {problem.get('title')}: {problem.get('detail')}")
        self.problem = problem


def call(method, path, body=None, idempotency_key=None, retries=3):
    """One API call; retries 429 and 503 after Retry-After; raises RelayboxError otherwise."""
    headers = {"Authorization": f"Bearer {API_KEY}", "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if method == "POST":
        # The same key on every retry: a create is never done twice.
        headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
    for attempt in range(retries + 1):
        request = urllib.request.Request(BASE_URL + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            if error.code in (429, 503) and attempt < retries:
                time.sleep(min(int(error.headers.get("Retry-After", "1")), 30))
                continue
            raise RelayboxError(json.load(error)) from None


def verify_signature(header, body, secret, tolerance=300, now=None):
    """True when `Relaybox-Signature` (t=<unix>,v1=<hex>) signs the raw `body` bytes with `secret`."""
    if not header:
        return False
    parts = [part.strip().split("=", 1) for part in header.split(",")]
    timestamp = next((v for k, v in parts if k == "t"), None)
    signatures = [v for k, v in parts if k == "v1"]
    if not timestamp or not timestamp.isdigit() or not signatures:
        return False
    if abs((now or time.time()) - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, signature) for signature in signatures)


def start_receiver(events):
    """An http server that hands each request's signature header and raw body to `events`."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            events.put((self.headers.get("Relaybox-Signature"), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((os.environ.get("RELAYBOX_WEBHOOK_HOST", "127.0.0.1"), 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    events = queue.Queue()
    receiver = start_receiver(events)
    host, port = receiver.server_address[:2]
    endpoint = call("POST", "/v1/webhooks", {"url": f"http://{host}:{port}/hook", "events": ["message.sent"]})
    print("webhook endpoint", endpoint["id"])

    accepted = call("POST", "/v1/messages", {"to": TO, "body": "Your code is 123456"})
    print("sent", accepted["id"], accepted["status"])
    message = call("GET", f"/v1/messages/{accepted['id']}")
    print("read back", message["id"], message["status"], message["to"])
    assert message["id"] == accepted["id"]

    try:
        call("GET", "/v1/messages/msg_00000000000000000000000000")
        raise SystemExit("expected a 404")
    except RelayboxError as error:
        assert error.problem["status"] == 404, error.problem
        print("a missing message is", error.problem["status"], error.problem["type"])

    deadline = time.time() + 60
    while True:
        header, body = events.get(timeout=max(1, deadline - time.time()))
        event = json.loads(body)
        if event["data"].get("id") == accepted["id"]:
            break
    assert verify_signature(header, body, endpoint["secret"]), "the signature does not verify"
    assert not verify_signature(header, body + b" ", endpoint["secret"]), "a changed body verifies"
    assert not verify_signature(header, body, "whsec_wrong"), "another secret verifies"
    print("verified webhook", event["id"], event["type"])
    call("DELETE", f"/v1/webhooks/{endpoint['id']}")
    receiver.shutdown()


if __name__ == "__main__":
    try:
        main()
    except RelayboxError as error:
        print(json.dumps(error.problem, indent=2), file=sys.stderr)
        sys.exit(1)
