//! GET /api/v1/bookings/me — the caller's bookings, newest first; with
//! `?when=upcoming` only those whose event has not ended (soonest first),
//! with `?when=past` only those whose event has ended (latest first). Each
//! booking carries its event's name, start and end, read once per event.

use evently_core::clock::rfc3339;
use evently_core::policy::CancelRefused;
use evently_core::{Booking, BookingStatus, Event, EventStatus};
use evently_http::request::query_param;
use evently_http::response::ok;
use evently_http::views::BookingView;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(mine(app, req))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum When {
    Any,
    Upcoming,
    Past,
}

fn when(req: &Request) -> Result<When, ApiError> {
    match query_param(req, "when").as_deref() {
        None => Ok(When::Any),
        Some("upcoming") => Ok(When::Upcoming),
        Some("past") => Ok(When::Past),
        Some(_) => Err(ApiError::Unprocessable {
            field: "when".into(),
            message: "must be `upcoming` or `past` (or left out for all)".into(),
        }),
    }
}

async fn mine(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.authenticate(&req).await?;
    let when = when(&req)?;
    let bookings = app.store.user_bookings(&claims.sub).await?;
    let events = app
        .store
        .events_by_id(bookings.iter().map(|b| b.event_id.as_str()))
        .await?;
    let now = app.clock.now();
    let mut listed: Vec<_> = bookings
        .iter()
        .filter_map(|b| {
            let event = events.get(b.event_id.as_str());
            let ended = event.is_some_and(|e| e.ends_at <= now);
            let keep = match when {
                When::Any => true,
                When::Upcoming => event.is_some() && !ended,
                When::Past => ended,
            };
            keep.then_some((b, event))
        })
        .collect();
    match when {
        When::Upcoming => listed.sort_by_key(|(b, e)| (e.map(|e| e.starts_at), b.id.clone())),
        When::Past => {
            listed.sort_by_key(|(b, e)| std::cmp::Reverse((e.map(|e| e.starts_at), b.id.clone())))
        }
        When::Any => {}
    }
    let views: Vec<serde_json::Value> = listed
        .into_iter()
        .map(|(b, event)| {
            let mut view = json!(BookingView::from(b));
            if let Some(e) = event {
                view["event"] = json!({
                    "id": e.id,
                    "name": e.name,
                    "starts_at": rfc3339(e.starts_at),
                    "ends_at": rfc3339(e.ends_at),
                    "venue": e.venue,
                });
                if b.status == BookingStatus::Confirmed {
                    view["cancellation"] = cancellation(b, e, now);
                }
            }
            view
        })
        .collect();
    ok(&json!({ "bookings": views }))
}

/// What cancelling a confirmed booking would do now, by its event's
/// policy: `{allowed: true, refund_amount, cancellation_fee, until}` or
/// `{allowed: false, reason}` — shown before the customer confirms.
fn cancellation(b: &Booking, e: &Event, now: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    if e.status == EventStatus::Cancelled {
        return json!({"allowed": false, "reason": "the organizer cancelled the event: refunded in full"});
    }
    let policy = &e.cancellation_policy;
    match policy.refund(b.total_price, e.starts_at, now) {
        Ok(r) => json!({
            "allowed": true,
            "refund_amount": r.refund_amount,
            "cancellation_fee": r.cancellation_fee,
            "until": rfc3339(policy.deadline(e.starts_at)),
        }),
        Err(CancelRefused::NotAllowed) => {
            json!({"allowed": false, "reason": "this event does not allow cancellations"})
        }
        Err(CancelRefused::PastDeadline(at)) => json!({
            "allowed": false,
            "reason": format!("cancellations closed at {}", rfc3339(at)),
        }),
    }
}
