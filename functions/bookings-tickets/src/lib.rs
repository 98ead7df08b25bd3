//! GET /api/v1/bookings/{booking_id}/tickets — the caller's tickets for
//! one of their bookings: one per seat, each with the code the door scans
//! (signed: a booking id alone is not a ticket) and its QR picture.
//! Someone else's booking answers 404, as if it did not exist.

use evently_http::request::path_param;
use evently_http::response::ok;
use evently_http::tickets::holders_view;
use evently_http::views::own_booking;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(tickets(app, req))
}

async fn tickets(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.authenticate(&req).await?;
    let booking = own_booking(app, &path_param(&req, "booking_id")?, &claims.sub).await?;
    let mut views = Vec::new();
    for ticket in booking.tickets() {
        views.push(holders_view(app, &ticket).await?);
    }
    ok(&json!({ "tickets": views }))
}
