"""Tests of the local endpoint's IAM (iam.py through server.py): a function
key is held to its registered policies and refused as AWS refuses, with the
error each service's SDK parses; nothing is done on a refusal; other keys
are the administrator; the report lists what was granted and never used."""
import json
import unittest
import urllib.error
import urllib.request

import boto3
from botocore.exceptions import ClientError

import iam
from test_faults import endpoint, table

ACCT = iam.ACCOUNT


def register(doc: dict) -> dict:
    req = urllib.request.Request(endpoint().url + iam.PATH, data=json.dumps(doc).encode(),
                                 method="POST")
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


def report() -> dict:
    with urllib.request.urlopen(endpoint().url + iam.PATH) as resp:
        return json.loads(resp.read())["functions"]


def client(service: str, key: str):
    return boto3.client(service, endpoint_url=endpoint().url, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key="x")


class IamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        admin = endpoint().client("dynamodb")
        table(admin, "iam-t")
        register({"principals": {
            "EVLiamReader": {"function": "ReaderFn", "statements": [
                {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
                 "Resource": [f"arn:aws:dynamodb:us-east-1:{ACCT}:table/iam-t"]},
                {"Effect": "Allow", "Action": "dynamodb:Scan",
                 "Resource": f"arn:aws:dynamodb:us-east-1:{ACCT}:table/iam-t"},
            ]},
            "EVLiamWriter": {"function": "WriterFn", "statements": [
                {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:ConditionCheckItem"],
                 "Resource": f"arn:aws:dynamodb:us-east-1:{ACCT}:table/iam-*"},
                {"Effect": "Deny", "Action": "dynamodb:PutItem",
                 "Resource": f"arn:aws:dynamodb:us-east-1:{ACCT}:table/iam-locked"},
                {"Effect": "Allow", "Action": "ses:SendRawEmail",
                 "Resource": f"arn:aws:ses:us-east-1:{ACCT}:identity/ok@evently.test"},
            ]},
        }})

    def test_a_granted_call_works_and_an_ungranted_one_is_access_denied(self):
        reader = client("dynamodb", "EVLiamReader")
        reader.get_item(TableName="iam-t", Key={"PK": {"S": "x"}})
        with self.assertRaises(ClientError) as e:
            reader.put_item(TableName="iam-t", Item={"PK": {"S": "x"}})
        self.assertEqual(e.exception.response["Error"]["Code"], "AccessDeniedException")
        self.assertIn("dynamodb:PutItem", e.exception.response["Error"]["Message"])
        got = endpoint().client("dynamodb").get_item(TableName="iam-t", Key={"PK": {"S": "x"}})
        self.assertNotIn("Item", got, "a refused write wrote nothing")

    def test_an_index_needs_its_own_resource(self):
        reader = client("dynamodb", "EVLiamReader")
        with self.assertRaises(ClientError) as e:
            reader.query(TableName="iam-t", IndexName="GSI1",
                         KeyConditionExpression="PK = :p",
                         ExpressionAttributeValues={":p": {"S": "x"}})
        self.assertIn("table/iam-t/index/GSI1", e.exception.response["Error"]["Message"])

    def test_a_transaction_needs_every_item_action(self):
        writer = client("dynamodb", "EVLiamWriter")
        writer.transact_write_items(TransactItems=[
            {"Put": {"TableName": "iam-t", "Item": {"PK": {"S": "t1"}}}}])
        with self.assertRaises(ClientError) as e:
            writer.transact_write_items(TransactItems=[
                {"Put": {"TableName": "iam-t", "Item": {"PK": {"S": "t2"}}}},
                {"Delete": {"TableName": "iam-t", "Key": {"PK": {"S": "t1"}}}}])
        self.assertIn("dynamodb:DeleteItem", e.exception.response["Error"]["Message"])
        admin = endpoint().client("dynamodb")
        self.assertNotIn("Item", admin.get_item(TableName="iam-t", Key={"PK": {"S": "t2"}}))

    def test_an_explicit_deny_wins_over_a_wildcard_allow(self):
        table(endpoint().client("dynamodb"), "iam-locked")
        writer = client("dynamodb", "EVLiamWriter")
        with self.assertRaises(ClientError):
            writer.put_item(TableName="iam-locked", Item={"PK": {"S": "x"}})
        writer.put_item(TableName="iam-t", Item={"PK": {"S": "w"}})

    def test_ses_refuses_other_senders_and_other_actions(self):
        endpoint().client("ses").verify_email_identity(EmailAddress="ok@evently.test")
        endpoint().client("ses").verify_email_identity(EmailAddress="no@evently.test")
        ses = client("ses", "EVLiamWriter")
        raw = {"Data": b"From: ok@evently.test\r\nTo: a@b.test\r\nSubject: s\r\n\r\nhi"}
        ses.send_raw_email(Source="ok@evently.test", RawMessage=raw)
        for call in (lambda: ses.send_raw_email(Source="no@evently.test", RawMessage=raw),
                     lambda: ses.send_email(Source="ok@evently.test",
                                            Destination={"ToAddresses": ["a@b.test"]},
                                            Message={"Subject": {"Data": "s"},
                                                     "Body": {"Text": {"Data": "t"}}})):
            with self.assertRaises(ClientError) as e:
                call()
            self.assertEqual(e.exception.response["Error"]["Code"], "AccessDenied")

    def test_an_unregistered_function_key_is_refused_and_admin_keys_are_not_checked(self):
        with self.assertRaises(ClientError):
            client("dynamodb", "EVLnobody").get_item(TableName="iam-t", Key={"PK": {"S": "x"}})
        client("dynamodb", "test").put_item(TableName="iam-t", Item={"PK": {"S": "admin"}})

    def test_unevaluated_statement_keys_are_refused_at_registration(self):
        with self.assertRaises(urllib.error.HTTPError) as e:
            register({"principals": {"EVLcond": {"function": "C", "statements": [
                {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}]}}})
        self.assertEqual(e.exception.code, 400)

    def test_the_report_lists_granted_actions_never_used(self):
        client("dynamodb", "EVLiamReader").get_item(TableName="iam-t", Key={"PK": {"S": "x"}})
        reader = report()["ReaderFn"]
        self.assertIn("dynamodb:GetItem", reader["used"])
        self.assertIn("dynamodb:Scan", reader["unused"])
        self.assertNotIn("dynamodb:GetItem", reader["unused"])


if __name__ == "__main__":
    unittest.main()
