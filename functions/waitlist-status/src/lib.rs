//! GET /api/v1/waitlist/status/{event_id} — your place in line.

use evently_http::request::path_param;
use evently_http::response::ok;
use evently_http::views::EntryView;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(status(app, req))
}

async fn status(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.tokens.authenticate(&req)?;
    let event_id = path_param(&req, "event_id")?;
    let missing = || ApiError::NotFound("you are not on this event's waitlist".into());
    if !evently_core::ids::is_ulid(&event_id) {
        return Err(missing());
    }
    let entry = app
        .store
        .user_entry(&claims.sub, &event_id)
        .await?
        .ok_or_else(missing)?;
    ok(&json!({ "entry": EntryView::of(app, &entry).await? }))
}
