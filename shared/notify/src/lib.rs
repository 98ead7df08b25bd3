//! Outbound adapters: email through SES with bodies rendered from templates
//! (`templates/`, minijinja), and the SQS queue that carries released seats
//! to the waitlist worker.

mod email;
mod queue;

pub use aws_sdk_sqs::Client as SqsClient;
pub use email::{render_offer, Mailer, OfferEmail, Rendered, SendError};
pub use queue::{Queue, QueueError};
