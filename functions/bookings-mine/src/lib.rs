//! GET /api/v1/bookings/me — the caller's bookings, newest first.

use evently_http::response::ok;
use evently_http::views::BookingView;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(mine(app, req))
}

async fn mine(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.tokens.authenticate(&req).await?;
    let bookings = app.store.user_bookings(&claims.sub).await?;
    let views: Vec<BookingView> = bookings.iter().map(BookingView::from).collect();
    ok(&json!({ "bookings": views }))
}
