//! POST /api/v1/auth/password-reset — ask for a password reset link by
//! email. Always 202 for a well-formed address, whether or not an account
//! has it (the answer must not tell who has an account). For an account,
//! the link's token (kept only as its hash) and the email carrying it are
//! written in one transaction; the table's stream hands the email to the
//! waitlist worker, and the sweeper retries it, as for booking emails. The
//! link works once, for 30 minutes. Requests count against the source
//! address and the address asked for (429 over the limit). A 202 never
//! comes sooner than `ANSWER_FLOOR` after the request: the link's write,
//! done only for an account, must not show in how long the answer takes.

use chrono::Duration;
use evently_core::offer::kind;
use evently_core::user::{normalize_email, RESET_LINK_SECS};
use evently_core::Notification;
use evently_http::auth::new_reset_token;
use evently_http::request::json_body;
use evently_http::response::json;
use evently_http::throttle::{self, reset_limits, source_ip};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use lambda_http::http::StatusCode;
use serde::Deserialize;
use serde_json::json as body;

/// How long every well-formed request takes at least: well above the one
/// transaction an account's link costs (tens of milliseconds), so both
/// answers leave at the floor.
pub const ANSWER_FLOOR: std::time::Duration = std::time::Duration::from_millis(400);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    email: String,
}

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(request_reset(app, req))
}

async fn request_reset(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let started = tokio::time::Instant::now();
    let asked: ResetRequest = json_body(&req)?;
    let email = normalize_email(&asked.email)?;
    let limits = reset_limits(app, &source_ip(app, &req).await, &email);
    throttle::check(app, &limits).await?;
    throttle::failed(app, &limits).await;
    if let Some(account) = app.store.find_login(&email).await? {
        let now = app.clock.now();
        let (token, hash) = new_reset_token();
        let mut note = Notification::pending(
            format!("{}-{}", kind::PASSWORD_RESET, evently_core::new_id()),
            &account.user.id,
            kind::PASSWORD_RESET,
            now,
            now + Duration::seconds(evently_http::tickets::EMAIL_GRACE_SECS),
        );
        note.claim_token = token;
        app.store
            .start_password_reset(
                &hash,
                &account.user.id,
                (now + Duration::seconds(RESET_LINK_SECS)).timestamp(),
                &note,
            )
            .await?;
    }
    tokio::time::sleep_until(started + ANSWER_FLOOR).await;
    json(
        StatusCode::ACCEPTED,
        &body!({
            "message": "if an account has this address, an email with a reset link is on its way; the link works once, for 30 minutes"
        }),
    )
}
