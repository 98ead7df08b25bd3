//! Outbound adapters: email through SES with bodies rendered from templates
//! (`templates/`, minijinja), and the SQS queue that carries released seats
//! to the waitlist worker.

mod bus;
mod email;
mod queue;

pub mod qr;

pub use aws_sdk_eventbridge::Client as EventBridgeClient;
pub use aws_sdk_sqs::Client as SqsClient;
pub use bus::{Bus, BusError};
pub use email::{
    render_booking_cancelled, render_booking_confirmed, render_cancellation, render_offer,
    render_password_reset, ses_client, BookingEmail, CancellationEmail, InlineImage, Mailer,
    OfferEmail, PasswordResetEmail, Rendered, SendError, TicketLine,
};
pub use queue::{Queue, QueueError};
