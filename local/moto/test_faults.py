"""Tests of the local endpoint's fault injection (faults.py, through
server.py's WSGI wrapper) and of ClientRequestToken idempotency
(patches.py): each fault answers as the real service would, filters keep
faults to their table or sender, and off means off."""
import json
import logging
import os
import socket
import threading
import time
import unittest
import urllib.request

os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError, ReadTimeoutError  # noqa: E402

import faults  # noqa: E402
import iam  # noqa: E402
import patches  # noqa: E402
import server  # noqa: E402


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Endpoint:
    """The real serialised, patched moto app on a private port."""

    def __init__(self) -> None:
        patches.apply()
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication, MotoRequestHandler, create_backend_app)
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.port = free_port()
        app = server.serialised(DomainDispatcherApplication(create_backend_app), faults.Faults(),
                                iam.Registry())
        self.httpd = make_server("127.0.0.1", self.port, app, threaded=True,
                                 request_handler=MotoRequestHandler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}"

    def faults(self, method: str, doc=None) -> dict:
        """`method` may carry a query: "POST?scope=x"."""
        method, _, query = method.partition("?")
        data = json.dumps(doc).encode() if doc is not None else None
        url = self.url + faults.PATH + (f"?{query}" if query else "")
        req = urllib.request.Request(url, data=data, method=method)
        with urllib.request.urlopen(req) as resp:
            return json.loads(resp.read())

    def client(self, service: str, **config):
        cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"}, **config)
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1", config=cfg)


ENDPOINT = None


def endpoint() -> Endpoint:
    global ENDPOINT
    if ENDPOINT is None:
        ENDPOINT = Endpoint()
    return ENDPOINT


def table(ddb, name: str) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")


def counter_update(name: str, pk: str = "c") -> dict:
    return {"Update": {"TableName": name, "Key": {"PK": {"S": pk}},
                       "UpdateExpression": "ADD n :one",
                       "ExpressionAttributeValues": {":one": {"N": "1"}}}}


class FaultsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.ep = endpoint()
        self.ep.faults("DELETE")
        self.ddb = self.ep.client("dynamodb")
        self.name = f"t{time.time_ns()}"
        table(self.ddb, self.name)

    def tearDown(self) -> None:
        self.ep.faults("DELETE")

    def get(self, pk: str):
        return self.ddb.get_item(TableName=self.name, Key={"PK": {"S": pk}}).get("Item")

    def code(self, call) -> str:
        with self.assertRaises(ClientError) as ctx:
            call()
        return ctx.exception.response["Error"]["Code"]

    def put(self, pk: str):
        return lambda: self.ddb.put_item(TableName=self.name, Item={"PK": {"S": pk}})

    def test_throttling_refuses_and_writes_nothing(self) -> None:
        self.ep.faults("POST", {"rules": [{"fault": "throttle", "operations": ["PutItem"], "count": 1}]})
        self.assertEqual(self.code(self.put("a")), "ThrottlingException")
        self.assertIsNone(self.get("a"))
        self.put("a")()  # the count is spent
        self.assertIsNotNone(self.get("a"))
        status = self.ep.faults("GET")
        self.assertEqual(status["rules"][0]["injected"], 1)
        self.assertGreaterEqual(status["injected"]["dynamodb:PutItem:throttle"], 1)

    def test_provisioned_and_internal_errors(self) -> None:
        self.ep.faults("POST", {"rules": [{"fault": "provisioned", "count": 1},
                                          {"fault": "internal", "count": 1}]})
        self.assertEqual(self.code(self.put("b")), "ProvisionedThroughputExceededException")
        with self.assertRaises(ClientError) as ctx:
            self.put("b")()
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 500)
        self.assertEqual(ctx.exception.response["Error"]["Code"], "InternalServerError")
        self.assertIsNone(self.get("b"))

    def test_a_conflict_cancels_a_transaction_with_reasons_and_a_single_write_plainly(self) -> None:
        self.ep.faults("POST", {"seed": 3, "rules": [{"fault": "conflict", "count": 2}]})
        with self.assertRaises(ClientError) as ctx:
            self.ddb.transact_write_items(TransactItems=[counter_update(self.name, "x"),
                                                         counter_update(self.name, "y")])
        err = ctx.exception.response
        self.assertEqual(err["Error"]["Code"], "TransactionCanceledException")
        codes = sorted(r["Code"] for r in err["CancellationReasons"])
        self.assertEqual(codes, ["None", "TransactionConflict"])
        self.assertIsNone(self.get("x"))
        self.assertEqual(self.code(self.put("z")), "TransactionConflictException")
        # Reads never conflict.
        self.ep.faults("POST", {"rules": [{"fault": "conflict"}]})
        self.assertIsNone(self.get("z"))

    def test_a_timeout_applies_the_write_and_answers_too_late(self) -> None:
        self.ep.faults("POST", {"rules": [{"fault": "timeout", "operations": ["PutItem"],
                                           "delay_ms": 1500, "count": 1}]})
        slow = self.ep.client("dynamodb", read_timeout=0.5, connect_timeout=1)
        with self.assertRaises(ReadTimeoutError):
            slow.put_item(TableName=self.name, Item={"PK": {"S": "late"}})
        self.assertIsNotNone(self.get("late"))

    def test_rules_keep_to_their_table_and_off_means_off(self) -> None:
        other = f"o{time.time_ns()}"
        table(self.ddb, other)
        self.ep.faults("POST", {"rules": [{"fault": "throttle", "tables": [self.name]}]})
        self.ddb.put_item(TableName=other, Item={"PK": {"S": "fine"}})
        self.assertEqual(self.code(self.put("no")), "ThrottlingException")
        self.assertEqual(self.code(lambda: self.ddb.transact_write_items(
            TransactItems=[counter_update(other), counter_update(self.name)])), "ThrottlingException")
        self.ep.faults("DELETE")
        self.put("yes")()
        self.assertIsNotNone(self.get("yes"))

    def test_ses_throttling_only_for_its_sender(self) -> None:
        ses = self.ep.client("ses")
        for sender in ("a@evently.test", "b@evently.test"):
            ses.verify_email_identity(EmailAddress=sender)
        self.ep.faults("POST", {"rules": [{"service": "ses", "fault": "throttle",
                                           "senders": ["a@evently.test"]}]})

        def send(sender: str):
            return ses.send_raw_email(Source=sender, RawMessage={
                "Data": f"From: {sender}\r\nTo: x@example.test\r\nSubject: hi\r\n\r\nbody"})

        with self.assertRaises(ClientError) as ctx:
            send("a@evently.test")
        self.assertEqual(ctx.exception.response["Error"]["Code"], "Throttling")
        self.assertIn("MessageId", send("b@evently.test"))

    def test_scopes_switch_on_and_off_independently(self) -> None:
        other = f"s{time.time_ns()}"
        table(self.ddb, other)
        self.ep.faults("POST?scope=mine", {"rules": [{"fault": "throttle", "tables": [self.name]}]})
        self.ep.faults("POST?scope=theirs", {"rules": [{"fault": "throttle", "tables": [other]}]})
        self.ep.faults("DELETE?scope=theirs")
        self.ddb.put_item(TableName=other, Item={"PK": {"S": "free"}})
        self.assertEqual(self.code(self.put("held")), "ThrottlingException")
        self.assertEqual(self.ep.faults("GET")["scopes"], ["mine"])

    def test_every_nth_request_is_faulted_without_dice(self) -> None:
        self.ep.faults("POST", {"rules": [{"fault": "throttle", "operations": ["PutItem"], "every": 3}]})
        outcomes = []
        for i in range(9):
            try:
                self.put(f"e{i}")()
                outcomes.append("ok")
            except ClientError as e:
                outcomes.append(e.response["Error"]["Code"])
        self.assertEqual(outcomes, ["ok", "ok", "ThrottlingException"] * 3)
        self.assertEqual(self.ep.faults("GET")["rules"][0]["injected"], 3)

    def test_bad_rules_are_refused(self) -> None:
        for doc in ({"rules": [{"fault": "meteor"}]}, {"rules": [{"fault": "throttle", "rate": 2}]},
                    {"rules": [{"fault": "throttle", "every": 0}]},
                    {"rules": [{"service": "ses", "fault": "timeout"}]}):
            with self.assertRaises(urllib.error.HTTPError) as ctx:
                self.ep.faults("POST", doc)
            self.assertEqual(ctx.exception.code, 400)

    def test_a_client_request_token_makes_a_transaction_idempotent(self) -> None:
        items = [counter_update(self.name, "k")]
        self.ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok-1")
        self.ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok-1")
        self.assertEqual(self.get("k")["n"]["N"], "1")
        self.assertEqual(self.code(lambda: self.ddb.transact_write_items(
            TransactItems=[counter_update(self.name, "other")], ClientRequestToken="tok-1")),
            "IdempotentParameterMismatchException")
        self.ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok-2")
        self.assertEqual(self.get("k")["n"]["N"], "2")

    def test_a_cancelled_transaction_is_not_remembered(self) -> None:
        guarded = {"Put": {"TableName": self.name, "Item": {"PK": {"S": "g"}},
                           "ConditionExpression": "attribute_exists(PK)"}}
        self.assertEqual(self.code(lambda: self.ddb.transact_write_items(
            TransactItems=[guarded], ClientRequestToken="tok-c")), "TransactionCanceledException")
        self.put("g")()
        self.ddb.transact_write_items(TransactItems=[guarded], ClientRequestToken="tok-c")


if __name__ == "__main__":
    unittest.main()
