//! Outbound adapters: email through SES with bodies rendered from templates
//! (`templates/`, minijinja), and the SQS queue that carries released seats
//! to the waitlist worker.

mod email;
mod queue;

pub use aws_sdk_sqs::Client as SqsClient;
pub use email::{render_offer, Mailer, OfferEmail, Rendered, SendError};
pub use queue::{Queue, QueueError};

/// Clients for the local AWS endpoint with fixed dummy credentials (never
/// the default chain), like `evently_store::aws::local_client`.
pub mod local {
    pub fn ses(endpoint: &str) -> aws_sdk_ses::Client {
        use aws_sdk_ses::config::{Credentials, Region};
        aws_sdk_ses::Client::from_conf(
            aws_sdk_ses::Config::builder()
                .behavior_version_latest()
                .region(Region::new("us-east-1"))
                .endpoint_url(endpoint)
                .credentials_provider(Credentials::new(
                    "local",
                    "local",
                    None,
                    None,
                    "evently-local",
                ))
                .build(),
        )
    }

    pub fn sqs(endpoint: &str) -> aws_sdk_sqs::Client {
        use aws_sdk_sqs::config::{Credentials, Region};
        aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::Config::builder()
                .behavior_version_latest()
                .region(Region::new("us-east-1"))
                .endpoint_url(endpoint)
                .credentials_provider(Credentials::new(
                    "local",
                    "local",
                    None,
                    None,
                    "evently-local",
                ))
                .build(),
        )
    }
}
