//! Helpers for TransactWriteItems: building updates and reading why a
//! transaction was cancelled (per item, in request order).

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};

/// Why each item of a cancelled transaction failed; None when the
/// transaction failed for another reason.
fn cancellation_reasons<R>(
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

/// Cancellation codes that say "not now" rather than "no": another
/// transaction held an item, or capacity ran short. Nothing was written.
const TRANSIENT_REASONS: &[&str] = &[
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
];

/// Why a transaction did not commit.
#[derive(Debug)]
pub(crate) enum TxError {
    /// A condition failed: a business answer, with every item's reason in
    /// request order.
    Refused(Vec<CancellationReason>),
    Store(crate::StoreError),
}

impl From<crate::StoreError> for TxError {
    fn from(e: crate::StoreError) -> Self {
        TxError::Store(e)
    }
}

/// Sends a transaction once, sorting its failure: a failed condition is
/// `Refused`; a cancellation only by conflicts or throttling, and transient
/// SDK errors, are `Unavailable`; anything else is `Backend`.
async fn send_once(
    req: aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder,
) -> Result<(), TxError> {
    let err = match req.send().await {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    let Some(reasons) = cancellation_reasons(&err) else {
        return Err(TxError::Store(err.into()));
    };
    let codes: Vec<&str> = reasons.iter().filter_map(failure).collect();
    if codes.contains(&"ConditionalCheckFailed") {
        return Err(TxError::Refused(reasons));
    }
    let text = format!("transaction cancelled: {codes:?}");
    if !codes.is_empty() && codes.iter().all(|c| TRANSIENT_REASONS.contains(c)) {
        Err(TxError::Store(crate::StoreError::Unavailable(text)))
    } else {
        Err(TxError::Store(crate::StoreError::Backend(text)))
    }
}

/// Sends a transaction, retrying it while it is cancelled only for
/// transient reasons (see `retry`). Each attempt goes with a fresh client
/// request token (the SDK fills one in per call and reuses it for its own
/// retries): an attempt that was cancelled wrote nothing, and reusing its
/// token could replay the cancellation.
pub(crate) async fn commit(
    req: aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder,
) -> Result<(), TxError> {
    // Boxed: the SDK's futures are deep, and callers' async state machines
    // (a Lambda runtime loop around a handler around this) would otherwise
    // exceed rustc's layout depth.
    let refused = Box::pin(crate::retry::retrying("TransactWriteItems", || {
        let req = req.clone();
        async move {
            match send_once(req).await {
                Ok(()) => Ok(None),
                Err(TxError::Refused(reasons)) => Ok(Some(reasons)),
                Err(TxError::Store(e)) => Err(e),
            }
        }
    }))
    .await?;
    match refused {
        None => Ok(()),
        Some(reasons) => Err(TxError::Refused(reasons)),
    }
}

/// Sends a transaction: true when it committed, false when a condition
/// refused it, an error (transient or not) for anything else.
pub(crate) async fn committed(
    req: aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder,
) -> Result<bool, crate::StoreError> {
    match commit(req).await {
        Ok(()) => Ok(true),
        Err(TxError::Refused(_)) => Ok(false),
        Err(TxError::Store(e)) => Err(e),
    }
}

/// A conditional single-item write's outcome: true when written, false
/// when its condition failed, an error (transient or not) for anything
/// else. For any operation (put, update, delete).
pub(crate) fn written<O, E>(
    result: Result<O, SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>>,
) -> Result<bool, crate::StoreError>
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .and_then(|se| se.code())
                .is_some_and(|c| c == "ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}
