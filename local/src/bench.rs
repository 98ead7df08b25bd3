//! What the benchmark binaries (and the fault tests) share: accounts made
//! straight in the store with a token, and the storm of injected faults.

use evently_http::App;
use serde_json::{json, Value};

/// An account of `role` written to the store (no password), with an access
/// token from the app's token service: for runs that need many users fast.
pub async fn user_with_token(
    app: &App,
    name: &str,
    role: evently_core::Role,
) -> Result<(String, String), Box<dyn std::error::Error + Send + Sync>> {
    let id = evently_core::new_id();
    let user = evently_core::User {
        email: format!("{name}.{}@bench.test", id[16..].to_lowercase()),
        id,
        name: name.to_owned(),
        role,
    };
    app.store
        .create_user(&user, "not-a-password-hash", "2026-01-01T00:00:00Z")
        .await?;
    let token = app
        .tokens
        .issue(&user, 0, app.clock.now(), 3600)
        .await
        .map_err(|e| e.to_string())?;
    Ok((user.id, token))
}

/// Fault rules (local/moto/faults.py) under which about a quarter of a
/// table's DynamoDB requests fail one way or another — throttled, refused
/// for capacity, cancelled by a conflict, a 500, or answered `late_ms`
/// after the client gave up — and a quarter of SES sends are throttled.
/// Scope them to a table and sender before use.
pub fn storm(late_ms: u64) -> Value {
    json!([
        {"fault": "throttle", "rate": 0.08},
        {"fault": "provisioned", "rate": 0.04},
        {"fault": "conflict", "rate": 0.10},
        {"fault": "internal", "rate": 0.04},
        {"fault": "timeout", "rate": 0.02, "delay_ms": late_ms},
        {"service": "ses", "fault": "throttle", "rate": 0.25}
    ])
}

/// The DynamoDB operation (from `X-Amz-Target`) and JSON body of a request
/// the SDK is about to send, for interceptors that count or keep requests.
pub fn dynamodb_request(
    ctx: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
) -> (String, Value) {
    let req = ctx.request();
    let op = req
        .headers()
        .get("x-amz-target")
        .unwrap_or_default()
        .trim_start_matches("DynamoDB_20120810.")
        .to_owned();
    let body = req
        .body()
        .bytes()
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or(Value::Null);
    (op, body)
}
