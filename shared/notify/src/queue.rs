use serde::Serialize;

#[derive(Debug, thiserror::Error)]
#[error("SQS: {0}")]
pub struct QueueError(pub String);

/// The waitlist queue (a standard queue with a dead-letter queue behind it).
#[derive(Debug, Clone)]
pub struct Queue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl Queue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn client(&self) -> &aws_sdk_sqs::Client {
        &self.client
    }

    pub async fn send<T: Serialize>(&self, message: &T) -> Result<String, QueueError> {
        let body = serde_json::to_string(message).map_err(|e| QueueError(e.to_string()))?;
        let out = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| QueueError(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }
}
