use aws_sdk_dynamodb::error::SdkError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("email address already registered")]
    EmailTaken,
    #[error("item already exists: {0}")]
    AlreadyExists(String),
    #[error("stored item is not what this code expects: {0}")]
    Corrupt(String),
    #[error("DynamoDB: {0}")]
    Backend(String),
}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(e: SdkError<E, R>) -> Self {
        StoreError::Backend(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
    }
}

impl From<serde_dynamo::Error> for StoreError {
    fn from(e: serde_dynamo::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}
