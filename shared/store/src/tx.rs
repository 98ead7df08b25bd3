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

/// How one attempt at a transaction ended.
enum Attempted {
    Committed,
    /// A condition failed: a business answer.
    Refused(Vec<CancellationReason>),
    /// Cancelled only by conflicts or throttling: nothing was written, the
    /// same transaction may be sent again (with a new token).
    NotApplied(crate::StoreError),
    /// Failed for now (a timeout, a 5xx, throttling after the SDK's own
    /// retries): it may or may not have been applied.
    Unknown(crate::StoreError),
    Failed(crate::StoreError),
}

/// Sends a transaction once and sorts how it ended.
async fn send_once(
    req: aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder,
) -> Attempted {
    let err = match req.send().await {
        Ok(_) => return Attempted::Committed,
        Err(e) => e,
    };
    let Some(reasons) = cancellation_reasons(&err) else {
        let e = crate::StoreError::from(err);
        return if e.is_transient() {
            Attempted::Unknown(e)
        } else {
            Attempted::Failed(e)
        };
    };
    let codes: Vec<&str> = reasons.iter().filter_map(failure).collect();
    if codes.contains(&"ConditionalCheckFailed") {
        return Attempted::Refused(reasons);
    }
    let text = format!("transaction cancelled: {codes:?}");
    if !codes.is_empty() && codes.iter().all(|c| TRANSIENT_REASONS.contains(c)) {
        Attempted::NotApplied(crate::StoreError::Unavailable(text))
    } else {
        Attempted::Failed(crate::StoreError::Backend(text))
    }
}

/// Sends a transaction, retrying it while it fails for the moment (see
/// `retry`), with a client request token of our own: kept across attempts
/// whose outcome is unknown, so that if one of them did commit, the retry
/// gets DynamoDB's idempotent success instead of meeting its own writes as
/// failed conditions; replaced after an attempt that certainly wrote
/// nothing (cancelled by conflicts), whose cancellation must not be
/// replayed. (The SDK's own retries of one call keep its token too.)
pub(crate) async fn commit(
    req: aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder,
) -> Result<(), TxError> {
    let token = std::sync::Mutex::new(evently_core::new_id());
    let fresh_token = || *token.lock().unwrap_or_else(|e| e.into_inner()) = evently_core::new_id();
    // Boxed: the SDK's futures are deep, and callers' async state machines
    // (a Lambda runtime loop around a handler around this) would otherwise
    // exceed rustc's layout depth.
    let refused = Box::pin(crate::retry::retrying("TransactWriteItems", || {
        let current = token.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let req = req.clone().client_request_token(current);
        let fresh_token = &fresh_token;
        async move {
            match send_once(req).await {
                Attempted::Committed => Ok(None),
                Attempted::Refused(reasons) => Ok(Some(reasons)),
                Attempted::NotApplied(e) => {
                    fresh_token();
                    Err(e)
                }
                Attempted::Unknown(e) | Attempted::Failed(e) => Err(e),
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
/// refused it, an error (transient or not) for anything else — or
/// `SessionEnded` when the refusal was the caller's session check.
pub(crate) async fn committed(
    req: aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder,
) -> Result<bool, crate::StoreError> {
    match commit(req).await {
        Ok(()) => Ok(true),
        Err(TxError::Refused(reasons)) if session_refused(&reasons) => {
            Err(crate::StoreError::SessionEnded)
        }
        Err(TxError::Refused(_)) => Ok(false),
        Err(TxError::Store(e)) => Err(e),
    }
}

/// Whether a cancelled transaction's session check (`Store::session_check`,
/// wherever it sits) is what failed: its item comes back (ALL_OLD) and is
/// the only account profile a transaction touches.
pub(crate) fn session_refused(reasons: &[CancellationReason]) -> bool {
    reasons.iter().any(|r| {
        failure(r) == Some("ConditionalCheckFailed")
            && old_item(r).is_some_and(|i| {
                i.get("entity")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some("user")
            })
    })
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
