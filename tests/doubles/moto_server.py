"""moto for the iotpipe tests: one request at a time, plus failure injection moto lacks.

moto's DynamoDB transactions are not thread-safe (under its threaded server two
conditional puts of one key can both succeed), so requests are served serially;
which also means moto never cancels a transaction for a conflict, as DynamoDB
does when two touch one item at once. `POST /iotpipe-test/dynamodb/conflict`
with {"count": N, "operation": "TransactWriteItems"} makes the next N such
requests fail the way DynamoDB reports it: TransactionCanceledException with
CancellationReasons [{"Code": "TransactionConflict"}], nothing written.
`GET /iotpipe-test/dynamodb/conflict` tells how many are still to come.
`GET /iotpipe-test/dynamodb/requests` counts the DynamoDB requests served by
operation (Scan, Query, TransactWriteItems, ...) since the server started.

Athena runs in its own stand-in (athena.py), which executes the SQL.

Usage: python moto_server.py PORT
"""

import json
import sys

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

moto_app = DomainDispatcherApplication(create_backend_app)
conflicts = []  # operation names, one per injected cancellation
served = {}  # DynamoDB operation -> requests


def cancelled():
    body = {
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": "Transaction cancelled, please refer cancellation reasons for specific "
        "reasons [TransactionConflict]",
        "CancellationReasons": [
            {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
        ],
    }
    return Response(json.dumps(body), status=400, mimetype="application/x-amz-json-1.0")


def app(environ, start_response):
    path = environ.get("PATH_INFO")
    if path == "/iotpipe-test/dynamodb/conflict":
        if environ.get("REQUEST_METHOD") == "POST":
            plan = json.loads(Request(environ).get_data() or b"{}")
            operation = plan.get("operation", "TransactWriteItems")
            conflicts.extend([operation] * int(plan.get("count", 1)))
        body = json.dumps({"pending": len(conflicts)})
        return Response(body, mimetype="application/json")(environ, start_response)
    if path == "/iotpipe-test/dynamodb/requests":
        return Response(json.dumps(served), mimetype="application/json")(environ, start_response)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    operation = target.rsplit(".", 1)[-1]
    if target.startswith("DynamoDB_"):
        served[operation] = served.get(operation, 0) + 1
    if target.startswith("DynamoDB_") and operation in conflicts:
        conflicts.remove(operation)
        return cancelled()(environ, start_response)
    return moto_app(environ, start_response)


if __name__ == "__main__":
    run_simple(
        "127.0.0.1", int(sys.argv[1]), app, threaded=False, request_handler=MotoRequestHandler
    )
