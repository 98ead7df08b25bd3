//! The waiting rooms' admitter, on an EventBridge schedule (every minute):
//! for each event with a waiting room it numbers the tickets that joined,
//! in join order across the shards, and admits them at the event's rate
//! (evently_store's queue.rs). One invocation steps every
//! `ADMIT_STEP_SECONDS` until shortly before its deadline, so people are
//! let in every few seconds, not once a minute; the next invocation
//! carries on. Each step writes the line's state conditioned on the
//! version it read: two overlapping invocations never admit twice.

use std::sync::Arc;
use std::time::Duration;

use evently_core::Clock;
use evently_store::{QueueStep, Store};
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

/// Time kept back from the deadline to finish the step in hand.
const MARGIN: Duration = Duration::from_secs(5);

pub struct Admitter {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub step_every: Duration,
}

impl Admitter {
    pub async fn from_env() -> Result<Self, String> {
        let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
        let aws = evently_store::aws::load().await;
        let step_secs = std::env::var("ADMIT_STEP_SECONDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|v: &u64| *v > 0)
            .unwrap_or(5);
        Ok(Self {
            store: Store::new(evently_store::aws::dynamodb(&aws), table),
            clock: Arc::new(evently_core::SystemClock),
            step_every: Duration::from_secs(step_secs),
        })
    }
}

/// What one invocation did.
#[derive(Debug, Default, Serialize)]
pub struct AdmitReport {
    /// Open waiting rooms at the last step.
    pub lines: u32,
    pub steps: u32,
    pub numbered: u64,
    pub admitted: u64,
    pub failures: u32,
}

/// One step over every open waiting room. A line whose event has started
/// is retired; a line that fails is logged and left for the next step.
pub async fn step_all(
    admitter: &Admitter,
    report: &mut AdmitReport,
) -> Result<(), lambda_runtime::Error> {
    let now = admitter.clock.now();
    let lines = admitter.store.active_queues().await?;
    report.lines = lines.len() as u32;
    for marker in lines {
        if marker.starts_at <= now {
            admitter.store.retire_queue(&marker.event_id).await?;
            continue;
        }
        match Box::pin(admitter.store.queue_step(&marker, now)).await {
            Ok(QueueStep {
                numbered, admitted, ..
            }) => {
                report.numbered += numbered;
                report.admitted += admitted;
            }
            Err(e) => {
                report.failures += 1;
                tracing::error!(event = %marker.event_id, error = %e, "admission step failed");
            }
        }
    }
    report.steps += 1;
    Ok(())
}

/// Steps until `deadline` less a margin, one every `step_every`.
pub async fn admit_by(
    admitter: &Admitter,
    deadline: Instant,
) -> Result<AdmitReport, lambda_runtime::Error> {
    let stop_at = deadline.checked_sub(MARGIN).unwrap_or(deadline);
    let mut report = AdmitReport::default();
    loop {
        let started = Instant::now();
        // Boxed: the SDK's futures are deep, and the runtime's loop around
        // the handler would otherwise exceed rustc's layout depth.
        Box::pin(evently_store::retry::within(
            deadline,
            step_all(admitter, &mut report),
        ))
        .await?;
        let next = started + admitter.step_every;
        // No waiting room open: nothing to step until the next minute's
        // run (a room opened meanwhile waits at most that long for its
        // first step; set it ahead of its on-sale, docs/operations.md).
        if report.lines == 0 || next + admitter.step_every > stop_at {
            break;
        }
        tokio::time::sleep_until(next).await;
    }
    tracing::info!(
        steps = report.steps,
        numbered = report.numbered,
        admitted = report.admitted,
        failures = report.failures,
        "admission done"
    );
    Ok(report)
}

pub async fn handler(
    admitter: &Admitter,
    event: lambda_runtime::LambdaEvent<Value>,
) -> Result<AdmitReport, lambda_runtime::Error> {
    admit_by(
        admitter,
        evently_store::retry::deadline_at(event.context.deadline()),
    )
    .await
}
