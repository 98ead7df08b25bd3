//! POST /api/v1/bookings/confirm — pay for a live hold and turn it into a
//! booking. Payment first (charged once per hold, whatever the retries),
//! then one transaction: seats held by this hold and unexpired → booked,
//! booking written, hold consumed.

use evently_core::{Booking, BookingStatus, Hold, HoldStatus, PaymentError};
use evently_http::idempotency::idempotent;
use evently_http::request::json_body;
use evently_http::response::created;
use evently_http::views::{own_hold, BookingView};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use evently_store::ConfirmError;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {
    hold_id: String,
    payment_details: PaymentDetails,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentDetails {
    card_token: String,
}

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(confirm(app, req))
}

async fn confirm(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.tokens.authenticate(&req)?;
    idempotent(app, &req, &claims.sub, book(app, &req, &claims.sub)).await
}

fn hold_ended(status: HoldStatus) -> ApiError {
    match status {
        HoldStatus::Confirmed => {
            ApiError::conflict("this hold was already confirmed into a booking")
        }
        HoldStatus::Released => {
            ApiError::Gone("this hold was released; hold the seats again".into())
        }
        HoldStatus::Active => ApiError::Gone("this hold has expired; hold the seats again".into()),
    }
}

async fn book(app: &App, req: &Request, user_id: &str) -> Result<Response<Body>, ApiError> {
    let body: Confirm = json_body(req)?;
    let hold = own_hold(app, &body.hold_id, user_id).await?;
    let now = app.clock.now();
    if !hold.is_live(now) {
        return Err(hold_ended(hold.status));
    }
    let token = body.payment_details.card_token.trim();
    if token.is_empty() || token.len() > 255 {
        return Err(ApiError::Unprocessable {
            field: "payment_details.card_token".into(),
            message: "a card token is required".into(),
        });
    }
    // Keyed by the hold: a second confirm of the same hold gets the same
    // charge back, never a second one.
    let payment_id = match app.payments.charge(token, hold.total_price, &hold.id).await {
        Ok(id) => id,
        Err(PaymentError::Declined) => {
            return Err(ApiError::PaymentRequired(
                "the card was declined; your hold stays until it expires".into(),
            ))
        }
        Err(e @ PaymentError::InvalidToken(_)) => {
            return Err(ApiError::Unprocessable {
                field: "payment_details.card_token".into(),
                message: e.to_string(),
            })
        }
        Err(e @ PaymentError::Unavailable(_)) => return Err(ApiError::Unavailable(e.to_string())),
    };
    let booking = Booking {
        id: hold.id.clone(),
        user_id: user_id.to_owned(),
        event_id: hold.event_id.clone(),
        section_id: hold.section_id.clone(),
        seat_ids: hold.seat_ids.clone(),
        status: BookingStatus::Confirmed,
        total_price: hold.total_price,
        payment_id: payment_id.clone(),
        created_at: now,
        refund_amount: None,
        cancellation_fee: None,
        cancelled_at: None,
    };
    match app.store.confirm_hold(&hold, &booking, now).await {
        Ok(()) => created(&json!({ "booking": BookingView::from(&booking) })),
        Err(ConfirmError::EventClosed) => {
            refund_unbooked(app, &payment_id, &hold).await;
            Err(ApiError::conflict(
                "this event was cancelled by its organizer; nothing was charged",
            ))
        }
        Err(ConfirmError::HoldNotActive) => {
            // Lost a race: with expiry, a release, or another confirm.
            let latest = app.store.get_hold(&hold.id).await?.unwrap_or(hold);
            if latest.status != HoldStatus::Confirmed {
                refund_unbooked(app, &payment_id, &latest).await;
            }
            Err(hold_ended(latest.status))
        }
        Err(ConfirmError::Store(e)) => Err(e.into()),
    }
}

/// Nothing was booked for this charge: give the money back (keyed by the
/// hold, so it happens once however often it is tried).
async fn refund_unbooked(app: &App, payment_id: &str, hold: &Hold) {
    if let Err(e) = app
        .payments
        .refund(payment_id, hold.total_price, &format!("refund-{}", hold.id))
        .await
    {
        tracing::error!(hold = %hold.id, error = %e, "refund after a failed confirm did not go through");
    }
}
