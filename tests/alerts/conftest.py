"""A real local HTTP server that receives webhooks, and helpers of the alert tests."""

import hashlib
import hmac
import http.server
import json
import threading

import pytest

from flowforge_admin.models import AlertDelivery


class WebhookServer:
    """http.server on 127.0.0.1:<free port> in a thread; keeps every request, answers ``status``."""

    def __init__(self):
        self.received = []  # (headers dict, raw body bytes)
        self.status = 200
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with server.lock:
                    server.received.append((dict(self.headers.items()), body))
                self.send_response(server.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def bodies(self):
        with self.lock:
            return [json.loads(body) for _, body in self.received]


@pytest.fixture
def webhook_server():
    with WebhookServer() as server:
        yield server


def signed_by(secret, headers, body):
    """Whether the X-Flowforge-Signature header is the HMAC-SHA256 of ``body`` with ``secret``."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("X-Flowforge-Signature", ""), expected)


def deliveries(run, **filters):
    return list(AlertDelivery.objects.filter(run=run, **filters).order_by("id"))
