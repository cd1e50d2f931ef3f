"""moto for the iotpipe tests: one request at a time, plus failure injection moto lacks.

moto's DynamoDB transactions are not thread-safe (under its threaded server two
conditional puts of one key can both succeed), so requests are served serially.

moto ends every Athena query SUCCEEDED and reports nothing scanned.
`POST /iotpipe-test/athena/fail` with {"reason": "...", "count": N} makes the
next N started queries end FAILED with that reason, as Athena reports it
(Status.StateChangeReason and AthenaError). An INSERT reports as scanned the
sizes of the S3 objects its `'s3://bucket/key'` literals name that exist, as
Athena would for the files it read.

Usage: python moto_server.py PORT
"""

import json
import re
import sys

from moto.athena import models, responses
from moto.s3.models import s3_backends
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

failures = []

start_query_execution = models.AthenaBackend.start_query_execution


def start_failing(self, *args, **kwargs):
    exec_id = start_query_execution(self, *args, **kwargs)
    if failures:
        execution = self.executions[exec_id]
        execution.status = "FAILED"
        execution.failure_reason = failures.pop(0)
    return exec_id


get_query_execution = responses.AthenaResponse.get_query_execution
PATH = re.compile(r"'s3://([^/']+)/((?:[^']|'')*)'")


def scanned_bytes(query, account_id):
    if not query.lstrip().upper().startswith("INSERT"):
        return 0
    backend = s3_backends[account_id]["aws"]
    total = 0
    for bucket, key in PATH.findall(query):
        try:
            found = backend.get_object(bucket, key.replace("''", "'"))
        except Exception:
            found = None
        total += found.size if found is not None else 0
    return total


def get_with_reason(self):
    body = json.loads(get_query_execution(self))
    execution = self.athena_backend.get_query_execution(self._get_param("QueryExecutionId"))
    if body["QueryExecution"]["Status"]["State"] == "SUCCEEDED":
        body["QueryExecution"]["Statistics"]["DataScannedInBytes"] = scanned_bytes(
            execution.query, self.current_account
        )
    reason = getattr(execution, "failure_reason", None)
    if reason:
        status = body["QueryExecution"]["Status"]
        status["StateChangeReason"] = reason
        status["AthenaError"] = {
            "ErrorCategory": 2,
            "ErrorType": 1100,
            "Retryable": False,
            "ErrorMessage": reason,
        }
    return json.dumps(body)


models.AthenaBackend.start_query_execution = start_failing
responses.AthenaResponse.get_query_execution = get_with_reason

moto_app = DomainDispatcherApplication(create_backend_app)


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/iotpipe-test/athena/fail":
        plan = json.loads(Request(environ).get_data() or b"{}")
        failures.extend([plan.get("reason", "injected failure")] * int(plan.get("count", 1)))
        return Response("{}", mimetype="application/json")(environ, start_response)
    return moto_app(environ, start_response)


if __name__ == "__main__":
    run_simple(
        "127.0.0.1", int(sys.argv[1]), app, threaded=False, request_handler=MotoRequestHandler
    )
