//! POST /api/v1/auth/password — change your password: the current one
//! proves it is you (wrong guesses count against the account as failed
//! logins do), the new one must pass the registration rules, and every
//! access token issued before — this request's included — stops working
//! (the account's token version moves on in the same write).

use evently_http::auth::{check_new_password, hash_password, verify_password};
use evently_http::request::json_body;
use evently_http::response::no_content;
use evently_http::throttle::{self, login_limits, source_ip};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    current_password: String,
    new_password: String,
}

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(change(app, req))
}

async fn change(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.tokens.authenticate(&req).await?;
    let body: Change = json_body(&req)?;
    // The new password's own rules first: input that breaks them is 422
    // whatever the current password.
    check_new_password(&body.new_password, "")?;
    // One strongly consistent read: the hash to check and the version the
    // session must still be on (what `App::authenticate` checks).
    let account = app
        .store
        .account(&claims.sub)
        .await?
        .filter(|a| a.token_version == claims.ver)
        .ok_or_else(|| ApiError::Unauthorized(evently_http::app::SESSION_ENDED.into()))?;
    let limits = login_limits(app, &source_ip(app, &req).await, Some(&account.user.email));
    throttle::check(app, &limits).await?;
    let current_ok = body.current_password.len() <= evently_core::user::MAX_PASSWORD_BYTES
        && verify_password(&body.current_password, &account.password_hash);
    if !current_ok {
        throttle::failed(app, &limits).await;
        return Err(ApiError::Forbidden("the current password is wrong".into()));
    }
    check_new_password(&body.new_password, &account.user.email)?;
    if body.new_password == body.current_password {
        return Err(ApiError::Unprocessable {
            field: "new_password".into(),
            message: "is the current password; choose a different one".into(),
        });
    }
    let new_hash = hash_password(&body.new_password)?;
    if !app.store.change_password(&account, &new_hash).await? {
        // Changed (or reset) by another request since the read: this
        // session has ended with it.
        return Err(ApiError::Unauthorized(
            evently_http::app::SESSION_ENDED.into(),
        ));
    }
    tracing::info!(user = %account.user.id, "password changed; earlier sessions ended");
    Ok(no_content())
}
