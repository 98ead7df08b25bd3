"""Fault injection for the local AWS endpoint: the failures real DynamoDB and
SES produce under load, at chosen rates, so the code paths that handle them
run locally. Off until configured; configured at run time over HTTP:

    POST   /_evently/faults[?scope=S]   {"seed": 7, "rules": [...]}
                                        replace the rules of scope S
    GET    /_evently/faults             every scope's rules, what was injected
    DELETE /_evently/faults[?scope=S]   scope S's rules off (all without S)

Scopes let tests that share one endpoint each switch their own faults on
and off (the default scope is "default").

A rule:

    {"service": "dynamodb" | "ses",
     "operations": ["PutItem", ...] or "*",
     "tables": ["evently", ...]      # DynamoDB: only requests touching these
     "senders": ["a@b.test", ...]    # SES: only mail from these sources
     "fault": "throttle" | "provisioned" | "conflict" | "internal" | "timeout",
     "rate": 0.0-1.0,                # chance per matching request
     "every": N,                     # instead of a chance: the Nth, 2Nth, …
                                     # matching request that reaches the rule
     "count": N,                     # optional: at most N injections
     "delay_ms": 1500}               # for "timeout"

What each fault answers, as the real service would:

* throttle    — DynamoDB `ThrottlingException`, SES `Throttling` ("Maximum
                sending rate exceeded"); nothing is done.
* provisioned — DynamoDB `ProvisionedThroughputExceededException`.
* conflict    — TransactWriteItems: `TransactionCanceledException` whose
                reasons are `TransactionConflict` for one item and `None` for
                the rest; single-item writes: `TransactionConflictException`.
                Reads are left alone (they do not conflict).
* internal    — HTTP 500 `InternalServerError`; nothing is done.
* timeout     — the request IS applied, then the answer is held back
                `delay_ms`: past the client's attempt timeout the caller sees
                a timeout for a write that happened (the ambiguous case).

Rules are tried in order; the first whose dice roll hits is injected. A rule
with `every` rolls no dice: it counts the matching requests that reach it
(those an earlier rule did not take) and hits every Nth, so a test can be
sure a fault it depends on happened however the scheduling went — put such
rules first, and the count of their hits is the number of matching requests
divided by N. Table
and sender filters let tests that share one endpoint fault only their own
table. Not faulted: DynamoDB Streams, SQS, EventBridge (the event-source
plumbing around the functions, not calls the functions make).
"""
import json
import random
import threading
import urllib.parse
from collections import Counter
from typing import Any, Optional

PATH = "/_evently/faults"
KINDS = {"throttle", "provisioned", "conflict", "internal", "timeout"}
SERVICES = {"dynamodb", "ses"}
DDB_PREFIX = "com.amazonaws.dynamodb.v20120810#"
SINGLE_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


class Request:
    """What a fault rule can match on, read from one HTTP request."""

    def __init__(self, service: Optional[str], operation: str, tables: set, sender: str, body: Any):
        self.service = service
        self.operation = operation
        self.tables = tables
        self.sender = sender
        self.body = body


def describe(environ: dict, raw: bytes) -> Request:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith("DynamoDB_20120810."):
        operation = target.split(".", 1)[1]
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        return Request("dynamodb", operation, _tables(body), "", body)
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "/ses/aws4_request" in auth:
        form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"))
        action = form.get("Action", [""])[0]
        sender = form.get("Source", [""])[0]
        return Request("ses", action, set(), sender, form)
    return Request(None, "", set(), "", None)


def _tables(body: dict) -> set:
    tables = set()
    if isinstance(body.get("TableName"), str):
        tables.add(body["TableName"])
    for name in (body.get("RequestItems") or {}):
        tables.add(name)
    for entry in body.get("TransactItems") or []:
        for op in entry.values():
            if isinstance(op, dict) and isinstance(op.get("TableName"), str):
                tables.add(op["TableName"])
    return tables


class Rule:
    def __init__(self, doc: dict):
        self.service = doc.get("service", "dynamodb")
        if self.service not in SERVICES:
            raise ValueError(f"service must be one of {sorted(SERVICES)}")
        self.fault = doc.get("fault")
        if self.fault not in KINDS:
            raise ValueError(f"fault must be one of {sorted(KINDS)}")
        if self.service == "ses" and self.fault not in {"throttle", "internal"}:
            # A send whose answer is lost may have gone out: SES has no
            # idempotency key, so a timeout there is a duplicate email by
            # design, not a fault the code can handle.
            raise ValueError("SES faults are throttle or internal")
        ops = doc.get("operations", "*")
        self.operations = None if ops == "*" else set(ops)
        self.tables = set(doc.get("tables") or [])
        self.senders = set(doc.get("senders") or [])
        self.rate = float(doc.get("rate", 1.0))
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        self.count = doc.get("count")
        every = doc.get("every")
        if every is not None and (not isinstance(every, int) or isinstance(every, bool) or every < 1):
            raise ValueError("every must be a whole number of at least 1")
        self.every = every
        self.seen = 0
        self.delay_ms = int(doc.get("delay_ms", 1500))
        self.injected = 0
        self.doc = doc

    def roll(self, rng: random.Random) -> bool:
        """Whether this matching request is faulted: the dice, or the
        stride of `every`."""
        if self.every is None:
            return rng.random() < self.rate
        self.seen += 1
        return self.seen % self.every == 0

    def matches(self, req: Request) -> bool:
        if req.service != self.service:
            return False
        if self.operations is not None and req.operation not in self.operations:
            return False
        if self.tables and not (req.tables & self.tables):
            return False
        if self.senders and req.sender not in self.senders:
            return False
        if self.count is not None and self.injected >= int(self.count):
            return False
        if self.fault == "conflict" and req.operation not in SINGLE_WRITES | {"TransactWriteItems"}:
            return False
        if req.service == "ses" and req.operation not in {"SendRawEmail", "SendEmail"}:
            return False
        return True


class Faults:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.scopes: dict = {}
        self.rng = random.Random()
        self.counts: Counter = Counter()

    @property
    def rules(self) -> list:
        return [r for rules in self.scopes.values() for r in rules]

    def configure(self, doc: dict, scope: str = "default") -> None:
        rules = [Rule(r) for r in doc.get("rules", [])]
        with self.lock:
            self.scopes[scope] = rules
            if "seed" in doc:
                self.rng = random.Random(doc["seed"])

    def clear(self, scope: Optional[str] = None) -> None:
        with self.lock:
            if scope is None:
                self.scopes = {}
            else:
                self.scopes.pop(scope, None)

    def status(self) -> dict:
        with self.lock:
            return {
                "rules": [dict(r.doc, injected=r.injected) for r in self.rules],
                "scopes": sorted(self.scopes),
                "injected": {f"{k[0]}:{k[1]}:{k[2]}": v for k, v in sorted(self.counts.items())},
            }

    def pick(self, req: Request) -> Optional[Rule]:
        if req.service is None:
            return None
        with self.lock:
            for rule in self.rules:
                if rule.matches(req) and rule.roll(self.rng):
                    rule.injected += 1
                    self.counts[(req.service, req.operation, rule.fault)] += 1
                    return rule
        return None

    def conflict_index(self, n: int) -> int:
        with self.lock:
            return self.rng.randrange(n)


def error_response(rule: Rule, req: Request, faults: Faults) -> tuple:
    """(status line, headers, body) of the injected error."""
    if req.service == "ses":
        code, status, msg = {
            "throttle": ("Throttling", "400 Bad Request", "Maximum sending rate exceeded."),
            "internal": ("InternalFailure", "500 Internal Server Error", "injected failure"),
        }[rule.fault]
        body = (
            '<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">'
            f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{msg}</Message></Error>"
            "<RequestId>evently-fault</RequestId></ErrorResponse>"
        ).encode()
        return status, [("Content-Type", "text/xml")], body
    if rule.fault == "internal":
        status, doc = "500 Internal Server Error", {
            "__type": DDB_PREFIX + "InternalServerError",
            "message": "Internal server error (injected)"}
    elif rule.fault == "provisioned":
        status, doc = "400 Bad Request", {
            "__type": DDB_PREFIX + "ProvisionedThroughputExceededException",
            "message": "The level of configured provisioned throughput for the table was exceeded."}
    elif rule.fault == "conflict" and req.operation == "TransactWriteItems":
        n = max(1, len(req.body.get("TransactItems") or []))
        hit = faults.conflict_index(n)
        reasons = [{"Code": "TransactionConflict",
                    "Message": "Transaction is ongoing for the item"} if i == hit else {"Code": "None"}
                   for i in range(n)]
        codes = ", ".join(r["Code"] for r in reasons)
        status, doc = "400 Bad Request", {
            "__type": DDB_PREFIX + "TransactionCanceledException",
            "Message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
            "CancellationReasons": reasons}
    elif rule.fault == "conflict":
        status, doc = "400 Bad Request", {
            "__type": DDB_PREFIX + "TransactionConflictException",
            "message": "Transaction is ongoing for the item"}
    else:
        status, doc = "400 Bad Request", {
            "__type": DDB_PREFIX + "ThrottlingException",
            "message": "Rate of requests exceeds the allowed throughput."}
    return status, [("Content-Type", "application/x-amz-json-1.0")], json.dumps(doc).encode()


def control(environ: dict, raw: bytes, faults: Faults) -> tuple:
    """Answers the /_evently/faults control requests."""
    method = environ.get("REQUEST_METHOD", "GET")
    scope = urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("scope", [None])[0]
    try:
        if method == "POST":
            faults.configure(json.loads(raw or b"{}"), scope or "default")
        elif method == "DELETE":
            faults.clear(scope)
        elif method != "GET":
            return "405 Method Not Allowed", json.dumps({"error": "GET, POST or DELETE"}).encode()
    except (ValueError, TypeError, KeyError) as e:
        return "400 Bad Request", json.dumps({"error": str(e)}).encode()
    return "200 OK", json.dumps(faults.status()).encode()
