//! Helpers for TransactWriteItems: building updates and reading why a
//! transaction was cancelled (per item, in request order).

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};

/// Why each item of a cancelled transaction failed; None when the
/// transaction failed for another reason.
pub(crate) fn cancellation_reasons<R>(
    err: &SdkError<TransactWriteItemsError, R>,
) -> Option<Vec<CancellationReason>> {
    match err.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(c) => {
            Some(c.cancellation_reasons().to_vec())
        }
        _ => None,
    }
}

/// The item's failure code ("ConditionalCheckFailed", "TransactionConflict",
/// …) or None where the item itself was fine.
pub(crate) fn failure(reason: &CancellationReason) -> Option<&str> {
    reason.code().filter(|c| *c != "None")
}

/// The item as it was when the condition failed (ALL_OLD), if it existed.
pub(crate) fn old_item(reason: &CancellationReason) -> Option<&HashMap<String, AttributeValue>> {
    reason.item().filter(|i| !i.is_empty())
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn build_err(e: impl std::fmt::Display) -> crate::StoreError {
    crate::StoreError::Backend(format!("building request: {e}"))
}

/// Sends a transaction: true when it committed, false when a condition (or
/// a conflicting transaction) cancelled it, an error for anything else.
pub(crate) async fn committed(
    req: aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder,
) -> Result<bool, crate::StoreError> {
    match req.send().await {
        Ok(_) => Ok(true),
        Err(e) if cancellation_reasons(&e).is_some() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A conditional PutItem's outcome: true when written, false when its
/// condition failed, an error for anything else.
pub(crate) fn put_outcome<R>(
    result: Result<
        aws_sdk_dynamodb::operation::put_item::PutItemOutput,
        SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError, R>,
    >,
) -> Result<bool, crate::StoreError>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}
