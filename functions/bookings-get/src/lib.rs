//! GET /api/v1/bookings/{booking_id} — one of the caller's bookings
//! (someone else's answers 404, as if it did not exist).

use evently_http::request::path_param;
use evently_http::response::ok;
use evently_http::views::{own_booking, BookingView};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(get(app, req))
}

async fn get(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.authenticate(&req).await?;
    let booking = own_booking(app, &path_param(&req, "booking_id")?, &claims.sub).await?;
    ok(&json!({ "booking": BookingView::from(&booking) }))
}
