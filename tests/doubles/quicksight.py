"""A QuickSight test double: the REST routes `iotpipe refresh-dashboard` uses,
plus STS GetCallerIdentity, on 127.0.0.1. moto implements CreateIngestion but
not DescribeIngestion, ListIngestions or ListDataSets.

The test steers it through /_double/* routes:
  POST /_double/dataset {"id", "name"}               a dataset that exists
  POST /_double/plan {"dataset", "states": [...],   each DescribeIngestion moves one state on
                      "rows": {...}, "error": {...},
                      "limit_exceeded": bool, "history_hours": [h, ...]}
  GET  /_double/requests                             every request: method, path, body

Every QuickSight request must carry a valid SigV4 signature for the secret key
`testing`, recomputed here with botocore's signer: AWS answers a request whose
signature does not match with 403 InvalidSignatureException ("The request
signature we calculated does not match the signature you provided", AWS
General Reference, "Signature Version 4 signing process" / "Troubleshoot").

Usage: python quicksight.py PORT [--tls CERT KEY DATASET...]
  --tls: serve HTTPS with that certificate and key, with those datasets (the
         /_double/* routes are then reached over TLS too)
"""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCOUNT = "123456789012"
datasets = {}
plans = {}
ingestions = {}  # (dataset, id) -> {"created": t, "step": n}
schedules = {}  # (dataset, schedule id) -> schedule
requests = []


def ingestion_body(dataset, ingestion_id, record):
    plan = plans.get(dataset, {})
    states = plan.get("states", ["COMPLETED"])
    status = states[min(record["step"], len(states) - 1)]
    body = {
        "Arn": f"arn:aws:quicksight:us-east-1:{ACCOUNT}:dataset/{dataset}/ingestion/{ingestion_id}",
        "IngestionId": ingestion_id,
        "IngestionStatus": status,
        "CreatedTime": record["created"],
    }
    if status in ("COMPLETED", "FAILED", "CANCELLED"):
        body["IngestionTimeInSeconds"] = 3
        body["RowInfo"] = plan.get("rows", {"RowsIngested": 0, "RowsDropped": 0})
    if status == "FAILED" and "error" in plan:
        body["ErrorInfo"] = plan["error"]
    return body


def signature_problem(method, path, headers, body):
    """None when the request's SigV4 signature is the one botocore computes."""
    auth = headers.get("Authorization", "")
    prefix = "AWS4-HMAC-SHA256 "
    if not auth.startswith(prefix):
        return "the request is not signed with SigV4"
    fields = dict(part.strip().split("=", 1) for part in auth[len(prefix):].split(","))
    key, _day, region, service, _ = fields["Credential"].split("/")
    if service != "quicksight":
        return f"signed for service {service}, not quicksight"
    signed = fields["SignedHeaders"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return "host and x-amz-date must be signed"
    request = AWSRequest(
        method=method,
        url=f"http://{headers['Host']}{path}",
        data=body,
        headers={name: headers[name] for name in signed if name in headers},
    )
    request.context["timestamp"] = headers["X-Amz-Date"]
    signer = SigV4Auth(Credentials(key, "testing", headers.get("X-Amz-Security-Token")), service, region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if expected != fields["Signature"]:
        return f"signature mismatch; the canonical request is:\n{canonical}"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, error_type=None, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "req-1")
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, error_type, message):
        self.reply(status, {"Message": message, "RequestId": "req-1"}, error_type)

    def handle_any(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        if not path.startswith("/_double/"):
            requests.append({"method": method, "path": self.path, "body": raw.decode(errors="replace")})
        body = json.loads(raw) if raw.startswith(b"{") else {}
        parts = path.strip("/").split("/")
        if not path.startswith("/_double/") and b"GetCallerIdentity" not in raw:
            problem = signature_problem(method, self.path, self.headers, raw)
            if problem:
                return self.error(403, "InvalidSignatureException", problem)

        if path == "/_double/dataset":
            datasets[body["id"]] = body.get("name", body["id"])
            return self.reply(200, {})
        if path == "/_double/plan":
            plans[body["dataset"]] = body
            now = time.time()
            for hours in body.get("history_hours", []):
                ingestions[(body["dataset"], f"old-{hours}")] = {"created": now - hours * 3600, "step": 99}
            return self.reply(200, {})
        if path == "/_double/requests":
            return self.reply(200, requests)
        if method == "POST" and path == "/" and b"GetCallerIdentity" in raw:
            xml = (
                '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                f"<GetCallerIdentityResult><Arn>arn:aws:iam::{ACCOUNT}:user/test</Arn>"
                f"<UserId>AIDATEST</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult>"
                "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>"
                "</GetCallerIdentityResponse>"
            )
            return self.reply(200, xml, content_type="text/xml")

        if len(parts) < 3 or parts[0] != "accounts" or parts[2] != "data-sets":
            return self.error(404, "UnknownOperationException", f"no route {method} {path}")
        if parts[1] != ACCOUNT:
            return self.error(403, "AccessDeniedException", f"account {parts[1]} is not this caller's")
        if len(parts) == 3 and method == "GET":
            summaries = [
                {"Arn": f"arn:aws:quicksight:us-east-1:{ACCOUNT}:dataset/{d}", "DataSetId": d,
                 "Name": name, "ImportMode": "SPICE"}
                for d, name in sorted(datasets.items())
            ]
            return self.reply(200, {"DataSetSummaries": summaries, "RequestId": "req-1", "Status": 200})
        dataset = parts[3]
        if dataset not in datasets:
            return self.error(404, "ResourceNotFoundException", f"dataset {dataset} not found")
        rest = parts[4:]
        if rest == ["ingestions"] and method == "GET":
            items = [ingestion_body(d, i, r) for (d, i), r in ingestions.items() if d == dataset]
            return self.reply(200, {"Ingestions": items, "RequestId": "req-1", "Status": 200})
        if len(rest) == 2 and rest[0] == "ingestions":
            key = (dataset, rest[1])
            if method == "PUT":
                if plans.get(dataset, {}).get("limit_exceeded"):
                    return self.error(409, "LimitExceededException", "Ingestion limit exceeded for this dataset")
                if key in ingestions:
                    return self.error(409, "ResourceExistsException", "ingestion exists")
                ingestions[key] = {"created": time.time(), "step": 0}
                arn = f"arn:aws:quicksight:us-east-1:{ACCOUNT}:dataset/{dataset}/ingestion/{rest[1]}"
                return self.reply(201, {"Arn": arn, "IngestionId": rest[1], "IngestionStatus": "INITIALIZED",
                                        "RequestId": "req-1", "Status": 201})
            if method == "GET":
                if key not in ingestions:
                    return self.error(404, "ResourceNotFoundException", "no such ingestion")
                body = ingestion_body(dataset, rest[1], ingestions[key])
                ingestions[key]["step"] += 1
                return self.reply(200, {"Ingestion": body, "RequestId": "req-1", "Status": 200})
        if rest == ["refresh-schedules"] and method in ("POST", "PUT"):
            schedule = body["Schedule"]
            key = (dataset, schedule["ScheduleId"])
            if method == "POST" and key in schedules:
                return self.error(409, "ResourceExistsException", "schedule exists")
            if method == "PUT" and key not in schedules:
                return self.error(404, "ResourceNotFoundException", "no such schedule")
            schedules[key] = schedule
            return self.reply(200, {"Status": 200, "RequestId": "req-1", "ScheduleId": schedule["ScheduleId"],
                                    "Arn": f"arn:schedule/{schedule['ScheduleId']}"})
        if len(rest) == 2 and rest[0] == "refresh-schedules":
            key = (dataset, rest[1])
            if key not in schedules:
                return self.error(404, "ResourceNotFoundException", "no such schedule")
            if method == "GET":
                return self.reply(200, {"RefreshSchedule": schedules[key], "Status": 200, "RequestId": "req-1",
                                        "Arn": f"arn:schedule/{rest[1]}"})
            if method == "DELETE":
                del schedules[key]
                return self.reply(200, {"Status": 200, "RequestId": "req-1", "ScheduleId": rest[1],
                                        "Arn": f"arn:schedule/{rest[1]}"})
        return self.error(404, "UnknownOperationException", f"no route {method} {path}")

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")


if __name__ == "__main__":
    # Threaded, as AWS serves connections at once: a client that keeps one
    # connection alive (the SDK's STS call) must not hold up another.
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    if sys.argv[2:3] == ["--tls"]:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
        server.socket = context.wrap_socket(server.socket, server_side=True)
        for dataset in sys.argv[5:]:
            datasets[dataset] = dataset
    server.serve_forever()
