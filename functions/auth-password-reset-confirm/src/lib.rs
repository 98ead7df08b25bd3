//! POST /api/v1/auth/password-reset/confirm — set a new password with the
//! token from a reset email. The token works once, within 30 minutes of
//! the request: using it and setting the password are one transaction, so
//! two uses at once cannot both succeed. A used, expired or unknown token
//! is 410; every session from before ends (the token version moves on).

use evently_http::auth::{check_new_password, hash_password, reset_token_hash};
use evently_http::request::json_body;
use evently_http::response::no_content;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetConfirm {
    token: String,
    new_password: String,
}

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(confirm(app, req))
}

fn gone() -> ApiError {
    ApiError::Gone(
        "this reset link was used, has expired or was never issued; ask for a new one".into(),
    )
}

async fn confirm(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let body: ResetConfirm = json_body(&req)?;
    let hash = reset_token_hash(body.token.trim()).ok_or_else(|| ApiError::Unprocessable {
        field: "token".into(),
        message: "is not a reset token (the 64 hex digits from the email's link)".into(),
    })?;
    // The password's own rules first (length, one repeated character):
    // input that breaks them is 422 whatever the token.
    check_new_password(&body.new_password, "")?;
    let now = app.clock.now().timestamp();
    let record = app
        .store
        .password_reset(&hash)
        .await?
        .filter(|r| !r.used && r.expires_at > now)
        .ok_or_else(gone)?;
    let account = app.store.account(&record.user_id).await?.ok_or_else(gone)?;
    check_new_password(&body.new_password, &account.user.email)?;
    let new_hash = hash_password(&body.new_password)?;
    if app
        .store
        .finish_password_reset(&hash, &account, &new_hash, now)
        .await?
    {
        tracing::info!(user = %account.user.id, "password reset; earlier sessions ended");
        return Ok(no_content());
    }
    // Used (or expired) since the read, or the password changed meanwhile.
    match app.store.password_reset(&hash).await? {
        Some(r) if !r.used && r.expires_at > now => Err(ApiError::conflict(
            "the account changed while the password was being reset; try again",
        )),
        _ => Err(gone()),
    }
}
