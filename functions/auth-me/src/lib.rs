//! GET /api/v1/auth/me — the account behind the access token.

use evently_http::response::ok;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(me(app, req))
}

async fn me(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.authenticate(&req).await?;
    match app.store.get_user(&claims.sub).await? {
        Some(user) => ok(&json!({ "user": user })),
        None => Err(ApiError::Unauthorized(
            "the account behind this token no longer exists".into(),
        )),
    }
}
