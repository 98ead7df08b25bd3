//! DELETE /api/v1/bookings/{booking_id}/cancel — cancel under the event's
//! policy. Two round trips: the booking is read, then one transaction
//! flips it, releases its seats (reserved for the waitlist worker once the
//! event has a waitlist, to the public otherwise) and records the refund
//! owed; the stream hands that record to the waitlist worker, which pays
//! it (the sweeper retries what fails). The event's policy and dates come
//! from this function's copy (they cannot change once published); the
//! transaction's sale-gate check is what decides whether it is still on
//! sale. Cancelling twice is a 409, never a double release.

use evently_core::policy::CancelRefused;
use evently_core::{BookingStatus, EventStatus, RefundDue};
use evently_http::request::path_param;
use evently_http::response::ok;
use evently_http::views::{cached_public_event, own_booking, BookingView};
use evently_http::{reply, ApiError, App, Body, Claims, Reply, Request, Response};
use evently_store::CancelOutcome;
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(cancel(app, req))
}

async fn cancel(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    // The session's token version is checked in the cancellation's
    // transaction (two requests in all); a refusal before it checks it by
    // a read first.
    let claims = app.tokens.authenticate(&req).await?;
    app.session_checked(&claims, cancel_as(app, &req, &claims).await)
        .await
}

async fn cancel_as(app: &App, req: &Request, claims: &Claims) -> Result<Response<Body>, ApiError> {
    let booking = own_booking(app, &path_param(req, "booking_id")?, &claims.sub).await?;
    if booking.status == BookingStatus::Cancelled {
        return Err(already_cancelled(app, &booking.id).await);
    }
    let event = cached_public_event(app, &booking.event_id)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => {
                ApiError::Internal(format!("booking {} names a missing event", booking.id))
            }
            other => other,
        })?;
    if event.status == EventStatus::Cancelled {
        return Err(event_cancelled());
    }
    let now = app.clock.now();
    let refund = event
        .cancellation_policy
        .refund(booking.total_price, event.starts_at, now)
        .map_err(|e| match e {
            CancelRefused::NotAllowed => {
                ApiError::conflict("this event does not allow cancellations")
            }
            CancelRefused::PastDeadline(at) => ApiError::conflict(format!(
                "cancellations for this event closed at {}",
                evently_core::clock::rfc3339(at)
            )),
        })?;
    let mut cancelled = booking.clone();
    cancelled.status = BookingStatus::Cancelled;
    cancelled.refund_amount = Some(refund.refund_amount);
    cancelled.cancellation_fee = Some(refund.cancellation_fee);
    cancelled.cancelled_at = Some(now);
    // What is owed back is recorded with the cancellation and paid from
    // there, after this answer: the cancellation stands whatever the
    // provider says, and the record stays until the refund went through.
    let owed = (refund.refund_amount.cents() > 0)
        .then(|| RefundDue::owed(&booking, refund.refund_amount, now));
    // The email with the refund, in the same transaction (sent from the
    // stream by the waitlist worker).
    let note = evently_core::Notification::about_booking(
        evently_core::offer::kind::BOOKING_CANCELLED,
        &cancelled,
        now,
        now + chrono::Duration::seconds(evently_http::tickets::EMAIL_GRACE_SECS),
    );
    match app
        .store
        .cancel_booking(&cancelled, owed.as_ref(), Some(&note), claims.ver)
        .await?
    {
        CancelOutcome::Cancelled => {}
        CancelOutcome::AlreadyCancelled => return Err(already_cancelled(app, &booking.id).await),
        CancelOutcome::EventClosed => return Err(event_cancelled()),
    }
    app.crash.hit("cancel.after_commit");
    ok(&json!({ "booking": BookingView::from(&cancelled) }))
}

/// 409 for a booking cancelled before, with the booking as it stands (a
/// client whose first cancel got no answer learns its refund here).
async fn already_cancelled(app: &App, booking_id: &str) -> ApiError {
    let mut extras = serde_json::Map::new();
    if let Ok(Some(b)) = app.store.get_booking(booking_id).await {
        extras.insert("booking".into(), json!(BookingView::from(&b)));
    }
    ApiError::Conflict("this booking is already cancelled".into(), extras)
}

/// The organizer cancelled the event: its job refunds every booking in full,
/// so cancelling under the policy (perhaps with a fee) would only cost the
/// customer.
fn event_cancelled() -> ApiError {
    ApiError::conflict(
        "the organizer cancelled this event; your booking is refunded in full automatically",
    )
}
