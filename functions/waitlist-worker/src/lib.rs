//! The waitlist worker: `SeatsReleased` messages from the queue → offers
//! (real holds for the first matching entries) and their emails;
//! `EventCancelled` messages → a run of the event's cancellation job. Each
//! message that fails is reported on its own (`batchItemFailures`), so a
//! poison message is retried alone and then lands in the dead-letter queue
//! while the rest are served.

use evently_waitlist::{Engine, WaitlistMessage};
use serde_json::{json, Value};

/// Handles one batch; returns the ids of the messages that failed.
pub async fn process(engine: &Engine, messages: Vec<(String, String)>) -> Vec<String> {
    let mut failed = Vec::new();
    for (id, body) in messages {
        let msg: WaitlistMessage = match serde_json::from_str(&body) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(message = %id, error = %e, "unreadable waitlist message");
                failed.push(id);
                continue;
            }
        };
        let outcome = match &msg {
            WaitlistMessage::Released(released) => engine.hand_out(released).await.map(|done| {
                tracing::info!(message = %id, offers = done.offers.len(),
                    released = done.released_to_public.len(), "released seats handed out");
            }),
            // Logged by the job itself.
            WaitlistMessage::Cancelled(c) => {
                engine.cancel_event(&c.event_cancelled).await.map(drop)
            }
        };
        if let Err(e) = outcome {
            tracing::error!(message = %id, error = %e, "waitlist message failed");
            failed.push(id);
        }
    }
    failed
}

pub async fn handler(
    engine: &Engine,
    event: lambda_runtime::LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>,
) -> Result<Value, lambda_runtime::Error> {
    let messages = event
        .payload
        .records
        .into_iter()
        .map(|r| (r.message_id.unwrap_or_default(), r.body.unwrap_or_default()))
        .collect();
    let failed = process(engine, messages).await;
    Ok(
        json!({ "batchItemFailures": failed.iter().map(|id| json!({"itemIdentifier": id})).collect::<Vec<_>>() }),
    )
}
