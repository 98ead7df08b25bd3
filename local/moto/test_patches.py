"""Tests of patches.py: the patched TransactWriteItems must behave like
DynamoDB (all or nothing, per-item cancellation reasons, stream records only
for what was applied) and must not slow down with table size."""
import os
import time
import unittest
from unittest import mock

os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.dynamodb.models import DynamoDBBackend  # noqa: E402

import patches  # noqa: E402

patches.apply()


def seat(n: int, status: str = "available") -> dict:
    return {"PK": {"S": "EVT#1#SEC#A"}, "SK": {"S": f"SEAT#{n}"}, "status": {"S": status}}


def hold_op(n: int) -> dict:
    return {"Update": {
        "TableName": "t",
        "Key": {"PK": {"S": "EVT#1#SEC#A"}, "SK": {"S": f"SEAT#{n}"}},
        "UpdateExpression": "SET #s = :held",
        "ConditionExpression": "#s = :available",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":held": {"S": "held"}, ":available": {"S": "available"}},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }}


@mock_aws
class TransactWriteItemsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.ddb = boto3.client("dynamodb", region_name="us-east-1")
        self.ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                       {"AttributeName": "SK", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                                  {"AttributeName": "SK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        for n in range(1, 4):
            self.ddb.put_item(TableName="t", Item=seat(n))

    def status(self, n: int) -> str:
        item = self.ddb.get_item(TableName="t", Key={"PK": {"S": "EVT#1#SEC#A"}, "SK": {"S": f"SEAT#{n}"}})
        return item["Item"]["status"]["S"]

    def stream_records(self) -> list:
        # Read the backend's shard directly: boto3's streams client and this
        # moto version disagree on the wire format.
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables["t"]
        return [r.to_json() for r in table.stream_shard.items]

    def test_all_conditions_pass_applies_every_write_with_stream_records(self) -> None:
        before = len(self.stream_records())
        self.ddb.transact_write_items(TransactItems=[hold_op(1), hold_op(2)])
        self.assertEqual([self.status(1), self.status(2), self.status(3)], ["held", "held", "available"])
        records = self.stream_records()[before:]
        self.assertEqual([r["eventName"] for r in records], ["MODIFY", "MODIFY"])

    def test_one_failed_condition_cancels_all_and_names_the_item(self) -> None:
        self.ddb.put_item(TableName="t", Item=seat(2, "booked"))
        before = len(self.stream_records())
        with self.assertRaises(ClientError) as ctx:
            self.ddb.transact_write_items(TransactItems=[hold_op(1), hold_op(2), hold_op(3)])
        err = ctx.exception.response
        self.assertEqual(err["Error"]["Code"], "TransactionCanceledException")
        reasons = err["CancellationReasons"]
        self.assertEqual([r["Code"] for r in reasons], ["None", "ConditionalCheckFailed", "None"])
        self.assertEqual(reasons[1]["Item"]["status"]["S"], "booked")
        self.assertEqual([self.status(1), self.status(2), self.status(3)], ["available", "booked", "available"])
        self.assertEqual(len(self.stream_records()), before)

    def test_same_item_twice_is_a_validation_error(self) -> None:
        with self.assertRaises(ClientError) as ctx:
            self.ddb.transact_write_items(TransactItems=[hold_op(1), hold_op(1)])
        self.assertEqual(ctx.exception.response["Error"]["Code"], "ValidationException")
        self.assertEqual(self.status(1), "available")

    def test_failure_while_applying_restores_touched_items_and_stream(self) -> None:
        before = len(self.stream_records())
        real_update = DynamoDBBackend.update_item
        calls = {"n": 0}

        def flaky(backend, *args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("disk on fire")
            return real_update(backend, *args, **kwargs)

        with mock.patch.object(DynamoDBBackend, "update_item", flaky):
            # In-process the error surfaces as itself; the server answers 500.
            with self.assertRaises(RuntimeError):
                self.ddb.transact_write_items(TransactItems=[hold_op(1), hold_op(2)])
        self.assertEqual([self.status(1), self.status(2)], ["available", "available"])
        self.assertEqual(len(self.stream_records()), before)

    def test_speed_does_not_depend_on_table_size(self) -> None:
        def rate() -> float:
            start, n = time.perf_counter(), 30
            for i in range(n):
                self.ddb.transact_write_items(TransactItems=[{"Put": {
                    "TableName": "t",
                    "Item": {"PK": {"S": "HOLD"}, "SK": {"S": f"{time.time_ns()}-{i}"}},
                    "ConditionExpression": "attribute_not_exists(PK)"}}])
            return n / (time.perf_counter() - start)

        small = rate()
        for start in range(0, 5000, 25):
            self.ddb.batch_write_item(RequestItems={"t": [
                {"PutRequest": {"Item": {"PK": {"S": "BIG"}, "SK": {"S": str(k)}}}}
                for k in range(start, start + 25)]})
        large = rate()
        # Stock moto is ~50x slower at 5,000 items; allow generous noise.
        self.assertGreater(large, small / 4, f"{large:.0f} tx/s at 5,000 items vs {small:.0f} tx/s small")


if __name__ == "__main__":
    unittest.main()


@mock_aws
class FastReadTest(unittest.TestCase):
    ITEM = {
        "PK": {"S": "P"}, "SK": {"S": "1"}, "n": {"N": "1.5"}, "bin": {"B": b"\x00\xff"},
        "l": {"L": [{"S": "q"}, {"N": "2"}]}, "m": {"M": {"z": {"BOOL": True}}},
        "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "nul": {"NULL": True},
    }

    def setUp(self) -> None:
        self.ddb = boto3.client("dynamodb", region_name="us-east-1")
        self.ddb.create_table(
            TableName="r",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                       {"AttributeName": "SK", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                                  {"AttributeName": "SK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.ddb.put_item(TableName="r", Item=self.ITEM)

    def test_every_attribute_type_reads_back_unchanged(self) -> None:
        key = {"PK": {"S": "P"}, "SK": {"S": "1"}}
        got = self.ddb.get_item(TableName="r", Key=key)["Item"]
        self.assertEqual({k: sorted(v["SS"]) if "SS" in v else v for k, v in got.items()},
                         {k: sorted(v["SS"]) if "SS" in v else v for k, v in self.ITEM.items()})
        queried = self.ddb.query(TableName="r", KeyConditionExpression="PK = :p",
                                 ExpressionAttributeValues={":p": {"S": "P"}})
        self.assertEqual(queried["Count"], 1)
        self.assertEqual(queried["Items"][0]["bin"], {"B": b"\x00\xff"})
        self.assertNotIn("Item", self.ddb.get_item(TableName="r", Key={"PK": {"S": "nope"}, "SK": {"S": "1"}}))

    def test_a_small_partition_is_queried_without_walking_the_table(self) -> None:
        def query_ms() -> float:
            start = time.perf_counter()
            for _ in range(20):
                got = self.ddb.query(TableName="r", KeyConditionExpression="PK = :p",
                                     ExpressionAttributeValues={":p": {"S": "P"}})
                self.assertEqual(got["Count"], 1)
            return (time.perf_counter() - start) / 20

        small = query_ms()
        for start in range(0, 5000, 25):
            self.ddb.batch_write_item(RequestItems={"r": [
                {"PutRequest": {"Item": {"PK": {"S": f"OTHER#{k % 7}"}, "SK": {"S": str(k)}}}}
                for k in range(start, start + 25)]})
        large = query_ms()
        self.assertLess(large, small * 4 + 0.002, f"{large*1e3:.1f} ms at 5,000 items vs {small*1e3:.1f} ms")
        # The other partitions are still all there, in key order.
        other = self.ddb.query(TableName="r", KeyConditionExpression="PK = :p",
                               ExpressionAttributeValues={":p": {"S": "OTHER#3"}})
        keys = [int(i["SK"]["S"]) for i in other["Items"]]
        self.assertEqual(len(keys), len([k for k in range(5000) if k % 7 == 3]))
        self.assertEqual([i["SK"]["S"] for i in other["Items"]], sorted(str(k) for k in keys))

    def test_paging_keys_survive(self) -> None:
        for i in range(2, 6):
            self.ddb.put_item(TableName="r", Item={"PK": {"S": "P"}, "SK": {"S": str(i)}})
        page = self.ddb.query(TableName="r", KeyConditionExpression="PK = :p", Limit=2,
                              ExpressionAttributeValues={":p": {"S": "P"}})
        self.assertEqual(page["LastEvaluatedKey"], {"PK": {"S": "P"}, "SK": {"S": "2"}})
