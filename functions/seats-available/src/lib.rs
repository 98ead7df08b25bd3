//! GET /api/v1/events/{event_id}/seats/available — the seats a hold could
//! take now, per section; `section_id` narrows to one section (then
//! `total_available` and `sold_out` speak of that section).

use evently_core::{Money, SeatStatus};
use evently_http::request::{path_param, query_param};
use evently_http::response::ok;
use evently_http::views::{futures_join, public_event, SeatView};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde::Serialize;

#[derive(Serialize)]
struct SectionView {
    id: String,
    name: String,
    price: Money,
    available_seats: Vec<SeatView>,
}

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(available(app, req))
}

async fn available(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let event = public_event(app, &path_param(&req, "event_id")?).await?;
    let now = app.clock.now();
    let sections: Vec<_> = match query_param(&req, "section_id") {
        Some(id) => vec![event
            .section(&id)
            .ok_or_else(|| ApiError::NotFound(format!("event has no section `{id}`")))?],
        None => event.sections.iter().collect(),
    };
    let seats = futures_join(
        sections
            .iter()
            .map(|s| app.store.section_seats(&event.id, &s.id)),
    )
    .await?;
    let sections: Vec<SectionView> = sections
        .into_iter()
        .zip(seats)
        .map(|(section, seats)| SectionView {
            id: section.id.clone(),
            name: section.name.clone(),
            price: section.price,
            available_seats: seats
                .into_iter()
                .filter(|seat| seat.state.status_at(now) == SeatStatus::Available)
                .map(|seat| SeatView::of(&seat, None))
                .collect(),
        })
        .collect();
    let total: usize = sections.iter().map(|s| s.available_seats.len()).sum();
    ok(&serde_json::json!({
        "event_id": event.id,
        "sold_out": total == 0,
        "total_available": total,
        "sections": sections,
    }))
}
