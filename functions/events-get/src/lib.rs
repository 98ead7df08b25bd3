//! GET /api/v1/events/{event_id} — one event with its availability.

use evently_http::request::path_param;
use evently_http::response::ok;
use evently_http::views::{public_event, EventView};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(get(app, req))
}

async fn get(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let event = public_event(app, &path_param(&req, "event_id")?).await?;
    ok(&EventView::of(app, &event, app.clock.now()).await?)
}
