//! The table's stream → the waitlist queue. Seats that became `reserved`
//! are grouped per release and sent as `SeatsReleased` messages; an event
//! cancelled (or its cancellation requested again) becomes `EventCancelled`;
//! a draft whose seating job was asked for another run becomes
//! `SeatingRequested`; a refund recorded as owed becomes `RefundOwed`; a
//! booking's confirmation or cancellation email becomes
//! `DeliverNotification`. A send that
//! fails reports the first stream record of its group as the batch item
//! failure, so Lambda retries from there (and bisects, per template.yaml).

use evently_notify::Queue;
use evently_waitlist::stream::{cancellations, deliveries, refunds, released, seatings, Change};
use evently_waitlist::WaitlistMessage;

/// One stream record: its sequence number and images.
pub struct Record {
    pub sequence_number: String,
    pub change: Change,
}

/// Sends the messages the records call for; returns the sequence numbers to
/// report as failed (empty when all went out).
pub async fn forward(queue: &Queue, records: Vec<Record>) -> Vec<String> {
    // Grouped over the whole batch: one cancellation's seats travel together.
    let (sequences, changes): (Vec<String>, Vec<Change>) = records
        .into_iter()
        .map(|r| (r.sequence_number, r.change))
        .unzip();
    let mut messages: Vec<(usize, WaitlistMessage)> = released(&changes)
        .into_iter()
        .map(|(i, m)| (i, WaitlistMessage::Released(m)))
        .chain(
            cancellations(&changes)
                .into_iter()
                .map(|(i, m)| (i, WaitlistMessage::Cancelled(m))),
        )
        .chain(
            seatings(&changes)
                .into_iter()
                .map(|(i, m)| (i, WaitlistMessage::Seating(m))),
        )
        .chain(
            refunds(&changes)
                .into_iter()
                .map(|(i, m)| (i, WaitlistMessage::Refund(m))),
        )
        .chain(
            deliveries(&changes)
                .into_iter()
                .map(|(i, m)| (i, WaitlistMessage::Deliver(m))),
        )
        .collect();
    messages.sort_by_key(|(i, _)| *i);
    for (first, msg) in messages {
        if let Err(e) = queue.send(&msg).await {
            tracing::error!(error = %e, sequence = %sequences[first], "could not queue released seats");
            // Lambda retries from the first failed record; later ones wait.
            return vec![sequences[first].clone()];
        }
    }
    Vec::new()
}

/// The Lambda handler: decodes the DynamoDB stream event and reports
/// partial batch failures (`ReportBatchItemFailures`).
pub async fn handler(
    queue: &Queue,
    event: lambda_runtime::LambdaEvent<aws_lambda_events::event::dynamodb::Event>,
) -> Result<aws_lambda_events::event::streams::DynamoDbEventResponse, lambda_runtime::Error> {
    let records = event
        .payload
        .records
        .iter()
        .map(|r| Record {
            sequence_number: r.change.sequence_number.clone().unwrap_or_default(),
            change: Change {
                old: evently_store::stream_image(&r.change.old_image),
                new: evently_store::stream_image(&r.change.new_image),
            },
        })
        .collect();
    let failed = forward(queue, records).await;
    Ok(evently_store::stream_failures(failed))
}
