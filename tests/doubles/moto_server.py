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

IoT: moto ignores AttachThingPrincipal's `thingPrincipalType`; here it is
kept and enforced as the AWS IoT API reference describes it
(AttachThingPrincipal, thingPrincipalType): an EXCLUSIVE_THING principal is
attached to that one thing only, and ListThingPrincipalsV2 reports each
attachment's type. CreateCertificateFromCsr issues the certificate for the
request's own public key (moto signs a fresh RSA key instead), after checking
the request's signature and key as the API reference lists them. `POST /iotpipe-test/iot/deny` with {"operations":
["CreateCertificateFromCsr", ...]} makes those operations answer as IAM does
to an identity without the permission (403 AccessDeniedException naming the
action); an empty list allows them again.

Athena runs in its own stand-in (athena.py), which executes the SQL.

Usage: python moto_server.py PORT
"""

import json
import re
import sys
from urllib.parse import parse_qs, unquote

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from moto.iot.exceptions import InvalidRequestException
from moto.iot.models import IoTBackend
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

moto_app = DomainDispatcherApplication(create_backend_app)

CA_KEY = ec.generate_private_key(ec.SECP256R1())
CA_NAME = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "iotpipe test IoT CA")])


def create_certificate_from_csr(self, csr, set_as_active):
    """AWS IoT API reference, CreateCertificateFromCsr: the certificate is for
    the request's key, which must be RSA of 2048 bits or more or ECC on NIST
    P-256, P-384 or P-521."""
    try:
        request = x509.load_pem_x509_csr(csr.encode("utf-8"))
    except ValueError as error:
        raise InvalidRequestException(f"The certificate signing request is not valid: {error}")
    if not request.is_signature_valid:
        raise InvalidRequestException("The certificate signing request signature is not valid")
    key = request.public_key()
    allowed = (isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048) or (
        isinstance(key, ec.EllipticCurvePublicKey)
        and key.curve.name in ("secp256r1", "secp384r1", "secp521r1")
    )
    if not allowed:
        raise InvalidRequestException("The certificate signing request key type is not supported")
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(request.subject)
        .issuer_name(CA_NAME)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365 * 30))
        .sign(CA_KEY, hashes.SHA256())
    )
    pem = certificate.public_bytes(Encoding.PEM).decode("utf-8")
    return self.register_certificate(
        pem, ca_certificate_pem=None, set_as_active=set_as_active, status="INACTIVE"
    )


IoTBackend.create_certificate_from_csr = create_certificate_from_csr
conflicts = []  # operation names, one per injected cancellation
served = {}  # DynamoDB operation -> requests
iot_denied = set()  # IoT operations answered with AccessDeniedException
attachments = {}  # (principal ARN, thing) -> thingPrincipalType

# The IoT operations iotpipe calls, by method and path (the API reference's
# request syntax of each).
IOT_OPERATIONS = [
    ("GET", r"/things", "ListThings"),
    ("POST", r"/things/[^/]+", "CreateThing"),
    ("GET", r"/things/[^/]+", "DescribeThing"),
    ("DELETE", r"/things/[^/]+", "DeleteThing"),
    ("PUT", r"/things/[^/]+/principals", "AttachThingPrincipal"),
    ("DELETE", r"/things/[^/]+/principals", "DetachThingPrincipal"),
    ("GET", r"/things/[^/]+/principals", "ListThingPrincipals"),
    ("GET", r"/things/[^/]+/principals-v2", "ListThingPrincipalsV2"),
    ("POST", r"/certificates", "CreateCertificateFromCsr"),
    ("GET", r"/certificates/[^/]+", "DescribeCertificate"),
    ("PUT", r"/certificates/[^/]+", "UpdateCertificate"),
    ("DELETE", r"/certificates/[^/]+", "DeleteCertificate"),
    ("GET", r"/policies/[^/]+", "GetPolicy"),
    ("PUT", r"/target-policies/[^/]+", "AttachPolicy"),
    ("POST", r"/target-policies/[^/]+", "DetachPolicy"),
    ("POST", r"/attached-policies/.+", "ListAttachedPolicies"),
    ("GET", r"/principals/things", "ListPrincipalThings"),
]


def signed_for(environ):
    """The service a SigV4 request was signed for (its credential scope)."""
    found = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return found.group(1) if found else None


def iot_operation(environ):
    method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
    for want, pattern, name in IOT_OPERATIONS:
        if method == want and re.fullmatch(pattern, path):
            return name
    return None


def iot_error(status, code, message):
    body = json.dumps({"message": message})
    return Response(body, status=status, headers={"x-amzn-ErrorType": code}, mimetype="application/json")


def call_moto(environ):
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers

    body = b"".join(moto_app(environ, start_response))
    status = int(captured["status"].split()[0])
    headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
    return status, headers, body


def iot(environ, operation):
    """IoT's documented behaviour where moto's differs; None: moto answers."""
    if operation in iot_denied:
        return iot_error(
            403,
            "AccessDeniedException",
            f"User: arn:aws:iam::123456789012:user/moto is not authorized to perform: "
            f"iot:{operation} because no identity-based policy allows the iot:{operation} action",
        )
    parts = environ.get("PATH_INFO", "").split("/")
    thing = unquote(parts[2]) if len(parts) > 2 else None
    principal = environ.get("HTTP_X_AMZN_PRINCIPAL")
    if operation == "AttachThingPrincipal":
        kind = parse_qs(environ.get("QUERY_STRING", "")).get("thingPrincipalType", ["NON_EXCLUSIVE_THING"])[0]
        others = [t for (p, t) in attachments if p == principal and t != thing]
        exclusive = [t for t in others if attachments[(principal, t)] == "EXCLUSIVE_THING"]
        if exclusive or (kind == "EXCLUSIVE_THING" and others):
            return iot_error(
                400,
                "InvalidRequestException",
                f"principal {principal} is attached to thing {(exclusive or others)[0]}; "
                "an exclusive attachment allows one thing only",
            )
        status, headers, body = call_moto(environ)
        if status == 200:
            attachments[(principal, thing)] = kind
        return Response(body, status=status, headers=headers)
    if operation == "DetachThingPrincipal":
        status, headers, body = call_moto(environ)
        if status == 200:
            attachments.pop((principal, thing), None)
        return Response(body, status=status, headers=headers)
    if operation == "ListThingPrincipalsV2":
        status, headers, body = call_moto(environ)
        if status == 200:
            listed = json.loads(body)
            for item in listed.get("thingPrincipalObjects", []):
                item["thingPrincipalType"] = attachments.get(
                    (item["principal"], thing), "NON_EXCLUSIVE_THING"
                )
            body = json.dumps(listed).encode()
        return Response(body, status=status, headers=headers)
    return None


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
    if path == "/iotpipe-test/iot/deny":
        plan = json.loads(Request(environ).get_data() or b"{}")
        iot_denied.clear()
        iot_denied.update(plan.get("operations", []))
        return Response(json.dumps(sorted(iot_denied)), mimetype="application/json")(
            environ, start_response
        )
    if path == "/iotpipe-test/dynamodb/requests":
        return Response(json.dumps(served), mimetype="application/json")(environ, start_response)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    operation = target.rsplit(".", 1)[-1]
    if target.startswith("DynamoDB_"):
        served[operation] = served.get(operation, 0) + 1
    if target.startswith("DynamoDB_") and operation in conflicts:
        conflicts.remove(operation)
        return cancelled()(environ, start_response)
    if signed_for(environ) == "iot":
        answered = iot(environ, iot_operation(environ))
        if answered is not None:
            return answered(environ, start_response)
    return moto_app(environ, start_response)


if __name__ == "__main__":
    run_simple(
        "127.0.0.1", int(sys.argv[1]), app, threaded=False, request_handler=MotoRequestHandler
    )
