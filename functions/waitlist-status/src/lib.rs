//! GET /api/v1/waitlist/status/{event_id} — your place in line.

use evently_http::request::path_param;
use evently_http::response::ok;
use evently_http::views::{own_entry, EntryView};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(status(app, req))
}

async fn status(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.authenticate(&req).await?;
    let entry = own_entry(app, &path_param(&req, "event_id")?, &claims.sub).await?;
    ok(&json!({ "entry": EntryView::of(app, &entry).await? }))
}
