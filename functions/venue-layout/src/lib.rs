//! GET /api/v1/events/{event_id}/venue-layout — the seat map: every seat
//! with its coordinates, price and status as of now.
//!
//! Seats are placed from the event's own layout (fixed once published) and
//! their statuses come from the event's seat maps: one Query per section
//! however many seats there are (the map trails the seats by the stream's
//! lag; a hold is decided by the seat itself). `?status=false` leaves the
//! statuses out: that answer never changes for a published event and is
//! cacheable for an hour; either way an `ETag` lets a client revalidate
//! (304).

use evently_core::{Money, SeatStatus};
use evently_http::request::{path_param, query_param};
use evently_http::response::{ok, with_etag};
use evently_http::views::{public_event, seat_maps, section_seat_views, SeatView};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde::Serialize;

#[derive(Serialize)]
struct SectionView {
    id: String,
    name: String,
    price: Money,
    capacity: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    available: Option<u32>,
    seats: Vec<SeatView>,
}

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(layout(app, req))
}

async fn layout(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let with_status = match query_param(&req, "status").as_deref() {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "status must be true or false, not `{other}`"
            )))
        }
    };
    let event = public_event(app, &path_param(&req, "event_id")?).await?;
    let now = app.clock.now();
    let sections: Vec<_> = event.sections.iter().collect();
    let maps = match with_status {
        true => seat_maps(app, &event, &sections).await?,
        false => vec![Default::default(); sections.len()],
    };
    let sections: Vec<SectionView> = sections
        .into_iter()
        .zip(&maps)
        .map(|(section, map)| {
            let mut seats = section_seat_views(&event, section, map, now);
            let available = with_status.then(|| {
                seats
                    .iter()
                    .filter(|s| s.status == Some(SeatStatus::Available))
                    .count() as u32
            });
            if !with_status {
                seats.iter_mut().for_each(|s| s.status = None);
            }
            SectionView {
                id: section.id.clone(),
                name: section.name.clone(),
                price: section.price,
                capacity: section.capacity,
                available,
                seats,
            }
        })
        .collect();
    let resp = ok(
        &serde_json::json!({ "event_id": event.id, "venue": event.venue, "sections": sections }),
    )?;
    let cache = match with_status {
        // Statuses change any moment: revalidate every time.
        true => "no-cache",
        false => "public, max-age=3600",
    };
    Ok(with_etag(&req, resp, cache))
}
