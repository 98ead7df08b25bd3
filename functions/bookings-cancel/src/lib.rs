//! DELETE /api/v1/bookings/{booking_id}/cancel — cancel under the event's
//! policy. One transaction flips the booking and releases its seats; when
//! people are waiting the seats are reserved for the waitlist instead of
//! going back to the public. Cancelling twice is a 409, never a double
//! release.

use evently_core::policy::CancelRefused;
use evently_core::{BookingStatus, EventStatus};
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
    let claims = app.tokens.authenticate(&req)?;
    let booking = own_booking(app, &path_param(&req, "booking_id")?, &claims.sub).await?;
    if booking.status == BookingStatus::Cancelled {
        return Err(ApiError::conflict("this booking is already cancelled"));
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
    match app.store.cancel_booking(&cancelled, release).await? {
        CancelOutcome::Cancelled => {}
        CancelOutcome::AlreadyCancelled => {
            return Err(ApiError::conflict("this booking is already cancelled"))
        }
        CancelOutcome::EventClosed => return Err(event_cancelled()),
    }
    if refund.refund_amount.cents() > 0 {
        let key = format!("refund-{}", booking.id);
        if let Err(e) = app
            .payments
            .refund(&booking.payment_id, refund.refund_amount, &key)
            .await
        {
            // The cancellation stands and says what is owed; nothing
            // retries a failed refund yet (the simulator never fails one).
            // A real provider needs a reconciliation job: see README.
            tracing::error!(booking = %booking.id, error = %e, "refund failed");
        }
    }
    ok(&json!({ "booking": BookingView::from(&cancelled) }))
}

/// The organizer cancelled the event: its job refunds every booking in full,
/// so cancelling under the policy (perhaps with a fee) would only cost the
/// customer.
fn event_cancelled() -> ApiError {
    ApiError::conflict(
        "the organizer cancelled this event; your booking is refunded in full automatically",
    )
}
