//! GET /api/v1/events/{event_id}/seats/available — the seats a hold could
//! take now, per section; `section_id` narrows to one section (then
//! `total_available` and `sold_out` speak of that section).
//!
//! Read from the event's layout and its seat maps: one Query per section
//! whatever the seat count (see venue-layout). `format=compact` answers
//! each section's seats as one string, a character per seat in the order
//! venue-layout lists them (`a` available, `h` held, `b` booked): the
//! answer a client polls to keep a drawn map current, about one byte per
//! seat instead of ~70.

use evently_core::{Money, SeatStatus};
use evently_http::request::{path_param, query_param};
use evently_http::response::ok;
use evently_http::views::{public_event, seat_maps, section_seat_views, SeatView};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde::Serialize;

#[derive(Serialize)]
struct SectionView {
    id: String,
    name: String,
    price: Money,
    available_seats: Vec<SeatView>,
}

#[derive(Serialize)]
struct CompactSection {
    id: String,
    name: String,
    price: Money,
    available: u32,
    seat_status: String,
}

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(available(app, req))
}

async fn available(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let compact = match query_param(&req, "format").as_deref() {
        None | Some("full") => false,
        Some("compact") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format must be full or compact, not `{other}`"
            )))
        }
    };
    let event = public_event(app, &path_param(&req, "event_id")?).await?;
    let now = app.clock.now();
    let sections: Vec<_> = match query_param(&req, "section_id") {
        Some(id) => vec![event
            .section(&id)
            .ok_or_else(|| ApiError::NotFound(format!("event has no section `{id}`")))?],
        None => event.sections.iter().collect(),
    };
    let maps = seat_maps(app, &event, &sections).await?;
    let seats: Vec<Vec<SeatView>> = sections
        .iter()
        .zip(&maps)
        .map(|(section, map)| section_seat_views(&event, section, map, now))
        .collect();
    let free = |s: &SeatView| s.status == Some(SeatStatus::Available);
    let total: usize = seats
        .iter()
        .map(|s| s.iter().filter(|x| free(x)).count())
        .sum();
    let sections = sections.into_iter().zip(seats);
    let sections = match compact {
        true => serde_json::to_value(
            sections
                .map(|(section, seats)| CompactSection {
                    id: section.id.clone(),
                    name: section.name.clone(),
                    price: section.price,
                    available: seats.iter().filter(|x| free(x)).count() as u32,
                    seat_status: seats
                        .iter()
                        .map(|s| match s.status {
                            Some(SeatStatus::Available) => 'a',
                            Some(SeatStatus::Held) => 'h',
                            _ => 'b',
                        })
                        .collect(),
                })
                .collect::<Vec<_>>(),
        ),
        false => serde_json::to_value(
            sections
                .map(|(section, seats)| SectionView {
                    id: section.id.clone(),
                    name: section.name.clone(),
                    price: section.price,
                    available_seats: seats
                        .into_iter()
                        .filter(free)
                        .map(|mut s| {
                            s.status = None;
                            s
                        })
                        .collect(),
                })
                .collect::<Vec<_>>(),
        ),
    }
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    ok(&serde_json::json!({
        "event_id": event.id,
        "sold_out": total == 0,
        "total_available": total,
        "sections": sections,
    }))
}
