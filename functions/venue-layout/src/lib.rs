//! GET /api/v1/events/{event_id}/venue-layout — the seat map: every seat
//! with its coordinates, price and status as of now.

use evently_core::{Money, SeatStatus};
use evently_http::request::path_param;
use evently_http::response::ok;
use evently_http::views::{futures_join, public_event, SeatView};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde::Serialize;

#[derive(Serialize)]
struct SectionView {
    id: String,
    name: String,
    price: Money,
    capacity: u32,
    available: u32,
    seats: Vec<SeatView>,
}

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(layout(app, req))
}

async fn layout(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let event = public_event(app, &path_param(&req, "event_id")?).await?;
    let now = app.clock.now();
    let seats = futures_join(
        event
            .sections
            .iter()
            .map(|s| app.store.section_seats(&event.id, &s.id)),
    )
    .await?;
    let sections: Vec<SectionView> = event
        .sections
        .iter()
        .zip(seats)
        .map(|(section, seats)| {
            let seats: Vec<SeatView> = seats
                .iter()
                .map(|seat| SeatView::of(seat, Some(seat.state.status_at(now))))
                .collect();
            SectionView {
                id: section.id.clone(),
                name: section.name.clone(),
                price: section.price,
                capacity: section.capacity,
                available: seats
                    .iter()
                    .filter(|s| s.status == Some(SeatStatus::Available))
                    .count() as u32,
                seats,
            }
        })
        .collect();
    ok(&serde_json::json!({ "event_id": event.id, "venue": event.venue, "sections": sections }))
}
