"""Patches to moto's DynamoDB backend for the local stack (moto 5.2.5 only).

Stock moto's TransactWriteItems deep-copies every table it touches so that it
can roll back. With a single table holding thousands of seats that costs about
a second per transaction (measured 0.4 tx/s at 10,000 items). DynamoDB itself
evaluates every condition against the state before the transaction and then
applies all writes or none, so we do the same:

1. evaluate every condition, collecting per-item cancellation reasons exactly
   as moto does (ALL_OLD items included);
2. if any failed, raise TransactionCanceledException having changed nothing;
3. otherwise snapshot only the touched items, apply the writes, and if an
   apply step raises, put those items back and drop the stream records the
   partial apply produced.

The server serialises requests (see server.py), so no other request can see
the intermediate state.

Reads: moto 5.2 turns every response into wire JSON through a generic,
shape-driven serializer that costs ~1 ms per item, so a seat map of 2,000
seats took 1.7 s. Results of Query, Scan, GetItem and BatchGetItem are
already DynamoDB JSON, so they are dumped directly (binary values
base64-encoded as on the wire); anything unexpected falls back to moto's own
path.

ClientRequestToken: stock moto ignores it and runs every TransactWriteItems
again. DynamoDB makes a transaction with a token idempotent for 10 minutes
after it completes: the same token with the same items succeeds without
writing again, with other items it is an IdempotentParameterMismatch. That
is what lets an SDK retry after a timeout (same token) be harmless, so the
local endpoint must honour it too. Only committed transactions are
remembered: a cancelled one wrote nothing, and its retry is evaluated anew.

Query: moto finds a partition by walking (and sorting) every item of the
table, so a query of a 2-seat section took ~90 ms in a table of 5,000 seats.
A base-table query on a table with a sort key now sees only its partition.
"""
import base64
import collections
import copy
import hashlib
import inspect
import json
import time
from typing import Any

from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    DynamodbException,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.comparisons import get_filter_expression
from moto.core.responses import ActionResult

import moto

EXPECTED_MOTO = "5.2.5"


def _key_of(table: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _read_slot(table: Any, slot: tuple[Any, Any]) -> Any:
    hash_value, range_value = slot
    if range_value is None:
        return table.items.get(hash_value)
    return table.items.get(hash_value, {}).get(range_value)


def _write_slot(table: Any, slot: tuple[Any, Any], item: Any) -> None:
    hash_value, range_value = slot
    if range_value is None:
        if item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item
        return
    bucket = table.items[hash_value]
    if item is None:
        bucket.pop(range_value, None)
        if not bucket:
            table.items.pop(hash_value, None)
    else:
        bucket[range_value] = item


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()

    seen: set[tuple[str, str]] = set()
    planned: list[tuple[str, dict[str, Any], Any, dict[str, Any]]] = []
    errors: list[tuple[Any, Any, Any]] = []

    # Phase 1: check every condition against the state before the transaction.
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(entry.items()))
        old_item = None
        try:
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            table = self.get_table(table_name)
            key = _key_of(table, op_type, op)
            unique = (str(table_name), str(dict(sorted(key.items()))))
            if unique in seen:
                raise MultipleTransactionsException()
            seen.add(unique)
            planned.append((op_type, op, table, key))

            condition = op.get("ConditionExpression")
            if condition is not None:
                current = self.get_item(table_name, key)
                check = get_filter_expression(
                    condition,
                    op.get("ExpressionAttributeNames"),
                    op.get("ExpressionAttributeValues"),
                )
                if not check.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        old_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=old_item)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise  # nothing applied yet: no rollback needed
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), old_item))
        except Exception as e:  # noqa: BLE001 - mirrors moto's own handling
            errors.append((type(e).__name__, str(e), old_item))

    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)

    # Phase 2: apply, keeping copies of just the touched items.
    saved = []
    for op_type, op, table, key in planned:
        slot = self.get_keys_value(table, key)
        shard = table.stream_shard
        saved.append(
            (table, slot, copy.deepcopy(_read_slot(table, slot)),
             shard, len(shard.items) if shard is not None else 0)
        )
    try:
        for op_type, op, table, key in planned:
            # The condition goes along again: it still holds (nothing else ran
            # in between) and moto validates attribute values against it.
            args = dict(
                condition_expression=op.get("ConditionExpression"),
                expression_attribute_names=op.get("ExpressionAttributeNames"),
                expression_attribute_values=op.get("ExpressionAttributeValues"),
            )
            if op_type == "Put":
                self.put_item(table.name, op["Item"], **args)
            elif op_type == "Delete":
                self.delete_item(table.name, key, **args)
            elif op_type == "Update":
                self.update_item(table.name, key, update_expression=op["UpdateExpression"], **args)
    except Exception:
        for table, slot, item, shard, stream_len in reversed(saved):
            _write_slot(table, slot, item)
            if shard is not None:
                del shard.items[stream_len:]
        raise


TOKEN_WINDOW_SECS = 600


class IdempotentParameterMismatchException(DynamodbException):
    error_type = "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException"

    def __init__(self) -> None:
        super().__init__(self.error_type, message="The request uses the same client token as a "
                         "previous, but non-identical request.")


def _idempotent_transactions(original: Any) -> Any:
    # Insertion order is completion order: expired tokens are at the front,
    # so pruning costs nothing per transaction (the SDK sends a token with
    # every transaction, thousands a minute under a test run).
    committed: "collections.OrderedDict[str, tuple[str, float]]" = collections.OrderedDict()

    def transact_write_items(self: Any) -> Any:
        token = self.body.get("ClientRequestToken")
        if not token:
            return original(self)
        now = time.monotonic()
        while committed and now - next(iter(committed.values()))[1] > TOKEN_WINDOW_SECS:
            committed.popitem(last=False)
        digest = hashlib.sha256(
            json.dumps(self.body.get("TransactItems"), sort_keys=True).encode()).hexdigest()
        seen = committed.get(token)
        if seen is not None:
            if seen[0] != digest:
                raise IdempotentParameterMismatchException()
            return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
        result = original(self)  # raises when cancelled: nothing remembered
        committed[token] = (digest, now)
        return result

    transact_write_items.__name__ = original.__name__
    return transact_write_items


class _NotPlain(Exception):
    pass


def _wire(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    raise _NotPlain(type(value).__name__)


def _fast_read(original: Any) -> Any:
    def read(self: Any) -> Any:
        result = original(self)
        try:
            return json.dumps(result.result, default=_wire)
        except (_NotPlain, AttributeError, TypeError, ValueError):
            return result

    read.__name__ = original.__name__
    read.__doc__ = original.__doc__
    return read


def _partition_query(original: Any) -> Any:
    signature = inspect.signature(original)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        hash_key = bound.arguments.get("hash_key")
        if bound.arguments.get("index_name") or hash_key is None or not self.range_key_attr:
            return original(self, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())
        # An instance attribute shadows the method for this one call; the
        # server is serialised, so nothing else sees it.
        self.all_items = lambda: partition
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    return query


_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    if moto.__version__ != EXPECTED_MOTO:
        raise SystemExit(
            f"local/moto/patches.py targets moto {EXPECTED_MOTO}, found {moto.__version__}; "
            "re-check the patch before changing the pin"
        )
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    Table.query = _partition_query(Table.query)  # type: ignore[method-assign]
    DynamoHandler.transact_write_items = _idempotent_transactions(  # type: ignore[method-assign]
        DynamoHandler.transact_write_items)

    for name in ("query", "scan", "get_item", "batch_get_item"):
        setattr(DynamoHandler, name, _fast_read(getattr(DynamoHandler, name)))
