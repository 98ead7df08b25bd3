//! DELETE /api/v1/bookings/{booking_id}/cancel — cancel under the event's
//! policy. One transaction flips the booking and releases its seats; when
//! people are waiting the seats are reserved for the waitlist instead of
//! going back to the public. Cancelling twice is a 409, never a double
//! release.

use evently_core::policy::CancelRefused;
use evently_core::{BookingStatus, EventStatus, RefundDue};
use evently_http::request::path_param;
use evently_http::response::ok;
use evently_http::views::{own_booking, BookingView};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use evently_store::{CancelOutcome, ReleaseTo};
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(cancel(app, req))
}

async fn cancel(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.tokens.authenticate(&req).await?;
    let booking = own_booking(app, &path_param(&req, "booking_id")?, &claims.sub).await?;
    if booking.status == BookingStatus::Cancelled {
        return Err(already_cancelled(app, &booking.id).await);
    }
    let event = app
        .store
        .get_event(&booking.event_id)
        .await?
        .ok_or_else(|| {
            ApiError::Internal(format!("booking {} names a missing event", booking.id))
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
    let release = if app.store.has_waiting(&event.id).await? {
        ReleaseTo::Waitlist
    } else {
        ReleaseTo::Public
    };
    let mut cancelled = booking.clone();
    cancelled.status = BookingStatus::Cancelled;
    cancelled.refund_amount = Some(refund.refund_amount);
    cancelled.cancellation_fee = Some(refund.cancellation_fee);
    cancelled.cancelled_at = Some(now);
    // What is owed back is recorded with the cancellation; it is removed
    // once the provider has refunded it, and the sweeper retries it until
    // then.
    let owed = (refund.refund_amount.cents() > 0)
        .then(|| RefundDue::owed(&booking, refund.refund_amount, now));
    match app
        .store
        .cancel_booking(&cancelled, release, owed.as_ref())
        .await?
    {
        CancelOutcome::Cancelled => {}
        CancelOutcome::AlreadyCancelled => return Err(already_cancelled(app, &booking.id).await),
        CancelOutcome::EventClosed => return Err(event_cancelled()),
    }
    app.crash.hit("cancel.after_commit");
    if let Some(owed) = owed {
        // The cancellation stands whatever the provider says: a refund that
        // does not go through now stays owed and the sweeper retries it
        // (same idempotency key) from a minute on.
        if let Err(e) = app.cashier().refund_owed(&owed).await {
            tracing::warn!(booking = %booking.id, error = %e, "refund record not settled; the sweeper retries it");
        }
    }
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
