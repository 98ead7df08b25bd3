//! GET /api/v1/events/{event_id}/queue/{ticket_id} — a ticket's place and
//! status; once admitted, the admission token a hold must carry. Only the
//! ticket's owner sees it (anyone else: 404, as if it did not exist).

use evently_http::queue::{queue_state, ticket_view};
use evently_http::request::path_param;
use evently_http::response::ok;
use evently_http::views::cached_public_event;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(status(app, req))
}

async fn status(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.authenticate(&req).await?;
    let event = cached_public_event(app, &path_param(&req, "event_id")?).await?;
    let ticket_id = path_param(&req, "ticket_id")?;
    let missing = || ApiError::NotFound(format!("no ticket `{ticket_id}` in this event's line"));
    let ticket = app
        .store
        .queue_ticket(&event.id, &ticket_id)
        .await?
        .filter(|t| t.user_id == claims.sub)
        .ok_or_else(missing)?;
    let state = queue_state(app, &event.id).await?;
    let view = ticket_view(app, &event, &ticket, &state, app.clock.now()).await?;
    ok(&json!({ "ticket": view }))
}
