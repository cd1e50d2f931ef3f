"""The Lambda runtime API as a function sees it, on 127.0.0.1: hands out the
events in the JSON list file one by one (GET .../invocation/next), records each
response or error the function posts, and shows them at GET /_double/results.

Usage: python lambda_runtime.py PORT EVENTS.json
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

events = json.load(open(sys.argv[2]))
results = []
lock = threading.Lock()
NEXT = "/2018-06-01/runtime/invocation/next"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_double/results":
            with lock:
                return self.reply(200, results)
        if self.path == NEXT:
            with lock:
                event = events.pop(0) if events else None
                number = len(results)
            if event is None:
                time.sleep(3600)  # no more work: the function waits, as in Lambda
                return
            return self.reply(200, event, [
                ("Lambda-Runtime-Aws-Request-Id", f"request-{number}"),
                ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000)),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:iotpipe"),
                ("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700"),
            ])
        self.reply(404, {"errorMessage": f"no route {self.path}"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        parts = self.path.strip("/").split("/")
        with lock:
            if len(parts) == 5 and parts[2] == "invocation" and parts[4] in ("response", "error"):
                results.append({"request": parts[3], "kind": parts[4], "body": json.loads(body or "null")})
            else:
                results.append({"request": None, "kind": self.path, "body": body})
        self.reply(202, {"status": "OK"})


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
