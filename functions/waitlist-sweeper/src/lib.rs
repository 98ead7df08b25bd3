//! The expiry sweeper, on an EventBridge schedule: ends offers whose time
//! ran out (their seats cascade to the next in line through the stream) and
//! retries offer emails that are due.

use evently_waitlist::Engine;
use serde_json::{json, Value};

pub async fn handler(
    engine: &Engine,
    _event: lambda_runtime::LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    let report = engine.sweep().await?;
    tracing::info!(
        expired = report.offers_expired,
        retried = report.emails_retried,
        "sweep done"
    );
    Ok(json!({ "offers_expired": report.offers_expired, "emails_retried": report.emails_retried }))
}
