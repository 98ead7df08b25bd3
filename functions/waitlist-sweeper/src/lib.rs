//! The expiry sweeper, on an EventBridge schedule: ends offers whose time
//! ran out (their seats cascade to the next in line through the stream),
//! retries emails and refunds that are due, settles payments whose request
//! was lost, and hands out seats left reserved by a lost message. One run
//! at a time (a lock); it stops starting new work a few seconds before the
//! invocation's deadline, and the next run carries on.

use std::time::Duration;

use evently_waitlist::{Engine, SweepReport};
use serde_json::Value;
use tokio::time::Instant;

/// Time kept back from the deadline to finish the item in hand.
const MARGIN: Duration = Duration::from_secs(5);

/// One sweep that stops starting work at `deadline` less a margin.
pub async fn sweep_by(
    engine: &Engine,
    deadline: Instant,
) -> Result<SweepReport, lambda_runtime::Error> {
    let stop_at = deadline.checked_sub(MARGIN).unwrap_or(deadline);
    let report = evently_store::retry::within(deadline, engine.sweep(stop_at)).await?;
    tracing::info!(
        ran = report.ran,
        expired = report.offers_expired,
        emails = report.emails_retried,
        refunds = report.refunds_retried,
        payments = report.payments_settled,
        redriven = report.seats_redriven,
        failures = report.failures,
        stopped_early = report.stopped_early,
        "sweep done"
    );
    Ok(report)
}

pub async fn handler(
    engine: &Engine,
    event: lambda_runtime::LambdaEvent<Value>,
) -> Result<SweepReport, lambda_runtime::Error> {
    sweep_by(
        engine,
        evently_store::retry::deadline_at(event.context.deadline()),
    )
    .await
}
