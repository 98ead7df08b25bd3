use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("email address already registered")]
    EmailTaken,
    #[error("item already exists: {0}")]
    AlreadyExists(String),
    #[error("stored item is not what this code expects: {0}")]
    Corrupt(String),
    /// DynamoDB throttled, conflicted, failed or timed out, and retrying
    /// within the budget did not get past it: nothing can be said about the
    /// outcome except "try again". Never a business answer.
    #[error("DynamoDB is unavailable for the moment: {0}")]
    Unavailable(String),
    /// A request DynamoDB refused for good (a bug or a misconfiguration).
    #[error("DynamoDB: {0}")]
    Backend(String),
    /// The caller's access token was issued before the account's password
    /// last changed (a transaction's session check failed): nothing was
    /// written.
    #[error("the session has ended")]
    SessionEnded,
}

impl StoreError {
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Error codes that say "not now" rather than "no": the request may be
/// sent again. Throttling (the SDK retries these itself first), a
/// conflicting transaction on one of the items, a server-side failure.
pub(crate) const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "TransactionInProgressException",
    // SES's spelling of throttling.
    "Throttling",
];

/// Whether an SDK error is transient: a timeout, a connection that failed,
/// an unreadable or 5xx answer, or one of `TRANSIENT_CODES`.
pub fn is_transient<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(se) => {
            se.raw().status().as_u16() >= 500
                || se
                    .err()
                    .code()
                    .is_some_and(|c| TRANSIENT_CODES.contains(&c))
        }
        _ => false,
    }
}

impl<E> From<SdkError<E, HttpResponse>> for StoreError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    fn from(e: SdkError<E, HttpResponse>) -> Self {
        let transient = is_transient(&e);
        let text = aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string();
        if transient {
            StoreError::Unavailable(text)
        } else {
            StoreError::Backend(text)
        }
    }
}

impl From<serde_dynamo::Error> for StoreError {
    fn from(e: serde_dynamo::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}
