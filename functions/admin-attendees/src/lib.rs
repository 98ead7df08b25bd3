//! GET /api/v1/admin/events/{event_id}/attendees — who booked, page by page
//! in booking order: `{attendees: [{booking_id, name, email, seat_ids,
//! status, checked_in}], next_cursor}`, `checked_in` being the seats whose
//! tickets were scanned. With `Accept: text/csv` the same page as a CSV
//! download (the next page's address in a `Link: <…>; rel="next"`
//! header). `limit` 1–1,000 (default 100 as JSON, 1,000 as CSV). For the
//! event's organizer (or an admin) and its door staff.

use evently_core::Booking;
use evently_http::admin::door_event;
use evently_http::request::{path_param, query_param};
use evently_http::response::ok;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use evently_store::Cursor;
use lambda_http::http::HeaderValue;
use serde::Serialize;
use serde_json::json;

const MAX_LIMIT: i32 = 1_000;

#[derive(Debug, Serialize)]
struct Attendee {
    booking_id: String,
    name: String,
    email: String,
    seat_ids: Vec<String>,
    status: evently_core::BookingStatus,
    checked_in: Vec<String>,
}

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(attendees(app, req))
}

fn wants_csv(req: &Request) -> bool {
    req.headers()
        .get_all("accept")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|m| m.trim().starts_with("text/csv")))
}

fn attendee(
    b: &Booking,
    users: &std::collections::HashMap<String, evently_core::User>,
) -> Attendee {
    let user = users.get(&b.user_id);
    let checked_in = b
        .tickets()
        .into_iter()
        .filter(|t| t.checked_in_at.is_some())
        .map(|t| t.seat_id.to_string())
        .collect();
    Attendee {
        booking_id: b.id.clone(),
        name: user.map(|u| u.name.clone()).unwrap_or_default(),
        email: user.map(|u| u.email.clone()).unwrap_or_default(),
        seat_ids: b.seat_ids.iter().map(ToString::to_string).collect(),
        status: b.status,
        checked_in,
    }
}

/// A CSV field, quoted when it must be (RFC 4180), and defused against
/// spreadsheet formulas (a name starting with `=` is data, not a formula).
fn field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn csv(rows: &[Attendee]) -> String {
    let mut out = String::from("booking_id,name,email,seat_ids,status,checked_in\r\n");
    for a in rows {
        let status = match a.status {
            evently_core::BookingStatus::Confirmed => "confirmed",
            evently_core::BookingStatus::Cancelled => "cancelled",
        };
        let line = [
            field(&a.booking_id),
            field(&a.name),
            field(&a.email),
            field(&a.seat_ids.join(" ")),
            status.to_owned(),
            field(&a.checked_in.join(" ")),
        ]
        .join(",");
        out.push_str(&line);
        out.push_str("\r\n");
    }
    out
}

async fn attendees(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let event_id = path_param(&req, "event_id")?;
    let (_, event) = door_event(app, &req, &event_id).await?;
    let as_csv = wants_csv(&req);
    let limit = match query_param(&req, "limit") {
        None => {
            if as_csv {
                MAX_LIMIT
            } else {
                100
            }
        }
        Some(raw) => match raw.parse::<i32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::Unprocessable {
                    field: "limit".into(),
                    message: format!("a number from 1 to {MAX_LIMIT}"),
                })
            }
        },
    };
    // An empty cursor is no cursor (the first page), as a form sends it.
    let cursor = match query_param(&req, "cursor").filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => Some(Cursor::decode(&raw).ok_or_else(|| ApiError::Unprocessable {
            field: "cursor".into(),
            message: "not a cursor this list gave out".into(),
        })?),
    };
    let (bookings, next) = app
        .store
        .event_bookings_page(&event.id, limit, cursor.as_ref())
        .await?;
    let ids: Vec<String> = bookings.iter().map(|b| b.user_id.clone()).collect();
    let users = app.store.users(&ids).await?;
    let rows: Vec<Attendee> = bookings.iter().map(|b| attendee(b, &users)).collect();
    let next = next.map(|c| c.encode());
    if !as_csv {
        return ok(&json!({ "attendees": rows, "next_cursor": next }));
    }
    let mut resp = Response::new(Body::Text(csv(&rows)));
    let headers = resp.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let filename = format!("attachment; filename=\"attendees-{}.csv\"", event.id);
    if let Ok(v) = HeaderValue::from_str(&filename) {
        headers.insert("content-disposition", v);
    }
    if let Some(c) = next {
        let link = format!(
            "</api/v1/admin/events/{}/attendees?limit={limit}&cursor={c}>; rel=\"next\"",
            event.id
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            headers.insert("link", v);
        }
    }
    Ok(resp)
}
