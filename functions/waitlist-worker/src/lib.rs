//! The waitlist worker: `SeatsReleased` messages from the queue → offers
//! (real holds for the first matching entries) and their emails;
//! `EventCancelled` messages → a run of the event's cancellation job;
//! `SeatingRequested` → a run of a draft's seating job; `RefundOwed` →
//! the refund a cancellation recorded, paid (or left for the sweeper);
//! `DeliverNotification` → a booking's email sent. Each
//! message that fails is reported on its own (`batchItemFailures`), so a
//! poison message is retried alone and then lands in the dead-letter queue
//! while the rest are served.
//!
//! Time comes from the invocation: a batch shares the deadline Lambda gives
//! it. A cancellation run gets at most `job_budget_secs` of it and stops
//! between steps (asking for another run) well before the deadline, and a
//! message not reached before the deadline is handed back unprocessed, so
//! one long job never times out the whole batch.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use evently_waitlist::{Engine, WaitlistMessage};
use tokio::time::Instant;

/// Time kept back from the deadline: enough to finish a step that started
/// and to answer Lambda.
const MARGIN: Duration = Duration::from_secs(3);
/// A message is only started with at least this much time left.
const MIN_PER_MESSAGE: Duration = Duration::from_secs(4);

/// Handles one batch by `deadline`; returns the ids of the messages that
/// failed or were not reached (both come back after the visibility timeout).
pub async fn process(
    engine: &Engine,
    messages: Vec<(String, String)>,
    deadline: Instant,
) -> Vec<String> {
    let mut failed = Vec::new();
    let stop_at = deadline.checked_sub(MARGIN).unwrap_or(deadline);
    for (id, body) in messages {
        if stop_at.saturating_duration_since(Instant::now()) < MIN_PER_MESSAGE {
            tracing::warn!(message = %id, "no time left in this invocation; handed back");
            failed.push(id);
            continue;
        }
        let msg: WaitlistMessage = match serde_json::from_str(&body) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(message = %id, error = %e, "unreadable waitlist message");
                failed.push(id);
                continue;
            }
        };
        // A job's run gets at most its budget of the invocation's time.
        let job_stop = || {
            let budget = Duration::from_secs(engine.config.job_budget_secs.max(0) as u64);
            stop_at.min(Instant::now() + budget)
        };
        // Boxed: the engine's futures nest deep, and the runtime's layout
        // of the whole invocation would otherwise exceed rustc's limits.
        let work = Box::pin(async {
            match &msg {
                WaitlistMessage::Released(released) => {
                    engine.hand_out(released).await.map(|done| {
                        tracing::info!(message = %id, offers = done.offers.len(),
                            released = done.released_to_public.len(), "released seats handed out");
                    })
                }
                WaitlistMessage::Seating(s) => {
                    engine.seat_event(&s.event_seating, job_stop()).await
                }
                WaitlistMessage::Deliver(d) => engine.deliver_stored(d).await.map(|status| {
                    tracing::info!(message = %id, notification = %d.deliver, ?status, "email handled");
                }),
                WaitlistMessage::Refund(r) => engine.refund(&r.refund_owed).await.map(|paid| {
                    tracing::info!(message = %id, booking = %r.refund_owed, paid, "refund owed handled");
                }),
                // Logged by the job itself.
                WaitlistMessage::Cancelled(c) => engine
                    .cancel_event(&c.event_cancelled, job_stop())
                    .await
                    .map(drop),
            }
        });
        if let Err(e) = evently_store::retry::within(stop_at, work).await {
            tracing::error!(message = %id, error = %e, "waitlist message failed");
            failed.push(id);
        }
    }
    failed
}

pub async fn handler(
    engine: &Engine,
    event: lambda_runtime::LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let deadline = evently_store::retry::deadline_at(event.context.deadline());
    let messages = event
        .payload
        .records
        .into_iter()
        .map(|r| (r.message_id.unwrap_or_default(), r.body.unwrap_or_default()))
        .collect();
    let mut response = SqsBatchResponse::default();
    response.set_failures(process(engine, messages, deadline).await);
    Ok(response)
}
