"""IAM for the local AWS endpoint: every request signed with a function's
access key is checked against that function's policies from template.yaml,
and a request outside them is refused as AWS refuses it (`AccessDenied`,
nothing done). moto itself ignores IAM.

The local runtime (local/src/iam.rs) expands template.yaml's policies —
SAM policy templates, the execution-role policies SAM adds for event
sources, intrinsic functions resolved to the local resources' ARNs — and
registers them here, one access key per function:

    POST   /_evently/iam          {"principals": {KEY: {"function": LOGICAL_ID,
                                                     "statements": [...]}}}
    GET    /_evently/iam          for each function: actions granted, actions
                                  used (allowed at least once), requests denied
                                  (stacks registered with "audit": false left out)
    GET    /_evently/iam?prefix=P what was refused the keys starting with P
    DELETE /_evently/iam?prefix=P forget the keys starting with P

Keys that start with `EVL` are function identities: one that is not
registered is refused (a function the runtime forgot to register must not
pass silently). Any other key is the local administrator (provisioning, the
seed, tests' oracles) and is not checked: in AWS that is the deployer.

What is evaluated, as IAM does for identity policies: an explicit Deny wins,
else an Allow whose Action and Resource match (`*` and `?` wildcards; actions
case-insensitive), else denied. Statements with Condition, NotAction,
NotResource or Principal are refused at registration rather than ignored:
add their semantics here first.

What each request needs, as the service documents it:
* DynamoDB: the operation on the table ARN, `…/index/NAME` for a Query or
  Scan of an index; TransactWriteItems needs PutItem/UpdateItem/DeleteItem/
  ConditionCheckItem per item and table, TransactGetItems GetItem.
* DynamoDB Streams: the operation on the stream ARN (ListStreams on `*`).
* SQS: the operation on the queue ARN; a batch needs its single action.
* SES: SendEmail/SendRawEmail on the sending identity's ARN (the Source).
* Secrets Manager: the operation on the secret ARN.
* EventBridge: PutEvents on each entry's bus ARN.
"""
import json
import re
import threading
import urllib.parse
from collections import defaultdict
from typing import Optional

PATH = "/_evently/iam"
ACCOUNT = "123456789012"
FUNCTION_KEY_PREFIX = "EVL"
SQS_BATCH = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
             "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}
TRANSACT_WRITE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                  "ConditionCheck": "ConditionCheckItem"}
SUPPORTED_KEYS = {"Sid", "Effect", "Action", "Resource"}


def _glob(pattern: str, flags: int = 0) -> "re.Pattern":
    out = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{out}$", flags | re.DOTALL)


class Statement:
    def __init__(self, doc: dict):
        unknown = set(doc) - SUPPORTED_KEYS
        if unknown:
            raise ValueError(f"statement keys {sorted(unknown)} are not evaluated locally; "
                             "add them to local/moto/iam.py before using them")
        self.sid = str(doc.get("Sid") or "")
        self.effect = doc.get("Effect")
        if self.effect not in ("Allow", "Deny"):
            raise ValueError(f"Effect must be Allow or Deny, not {self.effect!r}")
        actions = doc.get("Action")
        resources = doc.get("Resource")
        self.actions = [actions] if isinstance(actions, str) else list(actions or [])
        self.resources = [resources] if isinstance(resources, str) else list(resources or [])
        if not self.actions or not self.resources:
            raise ValueError("a statement needs Action and Resource")
        self._actions = [_glob(a, re.IGNORECASE) for a in self.actions]
        self._resources = [_glob(r) for r in self.resources]

    def matches(self, action: str, resource: str) -> bool:
        return (any(p.match(action) for p in self._actions)
                and any(p.match(resource) for p in self._resources))


class Principal:
    def __init__(self, doc: dict):
        self.function = str(doc.get("function") or "")
        if not self.function:
            raise ValueError("a principal needs its function's logical id")
        self.statements = [Statement(s) for s in doc.get("statements") or []]
        # Counted in the least-privilege report (not for edited templates).
        self.audit = bool(doc.get("audit", True))

    def allows(self, action: str, resource: str) -> bool:
        if any(s.effect == "Deny" and s.matches(action, resource) for s in self.statements):
            return False
        return any(s.effect == "Allow" and s.matches(action, resource) for s in self.statements)


class Registry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.principals: dict = {}
        self.granted: dict = defaultdict(set)
        self.used: dict = defaultdict(set)
        self.denied: dict = defaultdict(set)
        self.denied_by_key: dict = defaultdict(list)

    def register(self, doc: dict) -> int:
        parsed = {key: Principal(p) for key, p in (doc.get("principals") or {}).items()}
        with self.lock:
            self.principals.update(parsed)
            for p in parsed.values():
                if not p.audit:
                    continue
                for s in p.statements:
                    # AWS-managed event-source policies (Sid AWSLambda…) are
                    # not ours to trim: left out of the report.
                    if s.effect == "Allow" and not s.sid.startswith("AWSLambda"):
                        self.granted[p.function].update(s.actions)
        return len(parsed)

    def forget(self, prefix: str) -> None:
        with self.lock:
            for key in [k for k in self.principals if k.startswith(prefix)]:
                del self.principals[key]

    def check(self, key: str, needs: list) -> Optional[tuple]:
        """None when every (action, resource) is allowed, else the first that
        is not, with the function's name."""
        if not key.startswith(FUNCTION_KEY_PREFIX):
            return None
        with self.lock:
            principal = self.principals.get(key)
            if principal is None:
                action, resource = needs[0] if needs else ("*", "*")
                return ("unregistered:" + key, action, resource)
            for action, resource in needs:
                if not principal.allows(action, resource):
                    if principal.audit:
                        self.denied[principal.function].add(f"{action} {resource}")
                    self.denied_by_key[key].append(f"{action} {resource}")
                    return (principal.function, action, resource)
            if principal.audit:
                for action, _ in needs:
                    self.used[principal.function].add(action)
        return None

    def denials(self, prefix: str) -> dict:
        """What was refused the keys starting with `prefix`, by function."""
        with self.lock:
            out: dict = defaultdict(list)
            for key, refused in self.denied_by_key.items():
                if key.startswith(prefix) and key in self.principals:
                    out[self.principals[key].function].extend(refused)
            return dict(out)

    def report(self) -> dict:
        with self.lock:
            names = set(self.granted) | set(self.used) | set(self.denied)
            out = {}
            for fn in sorted(names):
                granted = self.granted.get(fn, set())
                used = self.used.get(fn, set())
                out[fn] = {
                    "granted": sorted(granted),
                    "used": sorted(used),
                    "unused": sorted(a for a in granted
                                     if not any(_glob(a, re.IGNORECASE).match(u) for u in used)),
                    "denied": sorted(self.denied.get(fn, set())),
                }
            return {"functions": out}


def access_key(environ: dict) -> str:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = re.search(r"Credential=([^/,\s]+)/[^/]*/([^/]*)/([^/]*)/", auth)
    return m.group(1) if m else ""


def _scope(environ: dict) -> tuple:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = re.search(r"Credential=[^/]+/[^/]*/([^/]*)/([^/]*)/", auth)
    return (m.group(1), m.group(2)) if m else ("us-east-1", "")


def needs(environ: dict, raw: bytes) -> tuple:
    """(service, [(action, resource ARN)]) the request needs allowed."""
    region, service = _scope(environ)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    arn = f"arn:aws:{{}}:{region}:{ACCOUNT}:{{}}"

    def body() -> dict:
        try:
            doc = json.loads(raw or b"{}")
            return doc if isinstance(doc, dict) else {}
        except ValueError:
            return {}

    if target.startswith("DynamoDB_20120810."):
        op, doc = target.split(".", 1)[1], body()
        table = lambda name: arn.format("dynamodb", f"table/{name}")  # noqa: E731
        if op == "TransactWriteItems" or op == "TransactGetItems":
            out = []
            for entry in doc.get("TransactItems") or []:
                for kind, item in entry.items():
                    action = "GetItem" if kind == "Get" else TRANSACT_WRITE.get(kind, kind)
                    out.append(("dynamodb:" + action, table(item.get("TableName", ""))))
            return "dynamodb", out or [("dynamodb:" + op, "*")]
        if op in ("BatchWriteItem", "BatchGetItem"):
            return "dynamodb", [("dynamodb:" + op, table(t)) for t in doc.get("RequestItems") or {}]
        name = doc.get("TableName")
        if not name:
            return "dynamodb", [("dynamodb:" + op, "*")]
        resource = table(name)
        if op in ("Query", "Scan") and doc.get("IndexName"):
            resource += "/index/" + doc["IndexName"]
        return "dynamodb", [("dynamodb:" + op, resource)]
    if target.startswith("DynamoDBStreams_20120810."):
        op, doc = target.split(".", 1)[1], body()
        stream = doc.get("StreamArn") or (doc.get("ShardIterator") or "").split("|", 1)[0] or "*"
        return "dynamodb", [("dynamodb:" + op, stream)]
    if target.startswith("AmazonSQS."):
        op, doc = target.split(".", 1)[1], body()
        url = doc.get("QueueUrl") or ""
        name = url.rstrip("/").rsplit("/", 1)[-1] if url else ""
        resource = arn.format("sqs", name) if name else "*"
        if op in ("CreateQueue", "GetQueueUrl") and doc.get("QueueName"):
            resource = arn.format("sqs", doc["QueueName"])
        return "sqs", [("sqs:" + SQS_BATCH.get(op, op), resource)]
    if target.startswith("secretsmanager."):
        op, doc = target.split(".", 1)[1], body()
        secret = doc.get("SecretId") or ""
        if secret and not secret.startswith("arn:"):
            secret = arn.format("secretsmanager", "secret:" + secret)
        return "secretsmanager", [("secretsmanager:" + op, secret or "*")]
    if target.startswith("AWSEvents."):
        op, doc = target.split(".", 1)[1], body()
        if op == "PutEvents":
            out = []
            for entry in doc.get("Entries") or []:
                bus = entry.get("EventBusName") or "default"
                out.append(("events:PutEvents", bus if bus.startswith("arn:")
                            else arn.format("events", "event-bus/" + bus)))
            return "events", out or [("events:PutEvents", "*")]
        return "events", [("events:" + op, "*")]
    if service == "ses":
        form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"))
        op = form.get("Action", [""])[0]
        source = form.get("Source", [""])[0]
        if op in ("SendEmail", "SendRawEmail", "SendTemplatedEmail", "SendBulkTemplatedEmail"):
            address = re.sub(r"^.*<([^>]+)>.*$", r"\1", source)
            return "ses", [("ses:" + op, arn.format("ses", "identity/" + address))]
        return "ses", [("ses:" + op, "*")]
    if service:
        # Query-protocol services (SQS's old protocol and others).
        form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"))
        op = form.get("Action", [""])[0]
        return service, [(f"{service}:{op}", "*")]
    return "", []


def denied_response(service: str, key: str, denial: tuple) -> tuple:
    """(status, headers, body) of AWS's AccessDenied for `service`."""
    function, action, resource = denial
    message = (f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{function}Role/{function} "
               f"is not authorized to perform: {action} on resource: {resource} "
               f"because no identity-based policy allows the {action} action")
    if service == "ses":
        body = ('<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">'
                f"<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{message}</Message>"
                "</Error><RequestId>evently-iam</RequestId></ErrorResponse>").encode()
        return "403 Forbidden", [("Content-Type", "text/xml")], body
    kind = "com.amazon.coral.service#AccessDeniedException" if service in ("dynamodb", "sqs") \
        else "AccessDeniedException"
    headers = [("Content-Type", "application/x-amz-json-1.0")]
    if service == "sqs":
        headers.append(("x-amzn-query-error", "AccessDenied;Sender"))
    body = json.dumps({"__type": kind, "message": message, "Message": message}).encode()
    return "400 Bad Request", headers, body


def control(environ: dict, raw: bytes, registry: Registry) -> tuple:
    method = environ.get("REQUEST_METHOD", "GET")
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    try:
        if method == "POST":
            n = registry.register(json.loads(raw or b"{}"))
            return "200 OK", json.dumps({"registered": n}).encode()
        if method == "DELETE":
            registry.forget(query.get("prefix", [FUNCTION_KEY_PREFIX])[0])
            return "200 OK", b"{}"
        if method == "GET" and "prefix" in query:
            return "200 OK", json.dumps({"denied": registry.denials(query["prefix"][0])}).encode()
        if method == "GET":
            return "200 OK", json.dumps(registry.report()).encode()
        return "405 Method Not Allowed", json.dumps({"error": "GET, POST or DELETE"}).encode()
    except (ValueError, TypeError, AttributeError) as e:
        return "400 Bad Request", json.dumps({"error": str(e)}).encode()
