//! POST /api/v1/bookings/confirm — pay for a live hold and turn it into a
//! booking. The payment rules (attempt recorded on the hold before the
//! charge, charge keyed by hold and card, booking, attempt and the
//! Idempotency-Key's answer in one transaction, refund of a charge that
//! bought nothing) live in `evently_payments`; this translates HTTP. Two
//! requests to the table: the attempt's write (which reads the hold) and
//! the booking transaction.

use evently_core::offer::kind;
use evently_core::HoldStatus;
use evently_core::{Booking, Notification, TicketCode};
use evently_http::idempotency::{used, Keyed};
use evently_http::request::json_body;
use evently_http::response::created;
use evently_http::views::BookingView;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use evently_payments::PayError;
use serde::Deserialize;
use serde_json::{json, Map};

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
    // The session's token version is checked in the booking transaction
    // (the two requests of a confirm stay two).
    let claims = app.tokens.authenticate(&req).await?;
    let key = Keyed::of(&req, &claims.sub)?;
    let body: Confirm = json_body(&req)?;
    let hold_id = body.hold_id.trim();
    if !evently_core::ids::is_ulid(hold_id) {
        return Err(no_hold(hold_id));
    }
    let token = body.payment_details.card_token.trim();
    if token.is_empty() || token.len() > 255 {
        return Err(ApiError::Unprocessable {
            field: "payment_details.card_token".into(),
            message: "a card token is required".into(),
        });
    }
    let answer = |b: &Booking| view(b).to_string();
    let keyed = key.as_ref().map(|k| evently_payments::Keyed {
        scope: k.scope(),
        key: k.key(),
        request_hash: k.fingerprint(),
        body: &answer,
    });
    // The confirmation email goes into the booking's transaction, with its
    // tickets' codes signed here (where the key is); the stream hands it to
    // the worker, which draws the QR codes and sends it.
    let signer = app.tokens.ticket_signer().await?;
    let now = app.clock.now();
    let note_for = move |b: &Booking| {
        let mut note = Notification::about_booking(
            kind::BOOKING_CONFIRMED,
            b,
            now,
            now + chrono::Duration::seconds(evently_http::tickets::EMAIL_GRACE_SECS),
        );
        note.tickets = b
            .tickets()
            .iter()
            .map(|t| TicketCode {
                seat_id: t.seat_id.to_string(),
                code: signer.sign(&t.at),
            })
            .collect();
        note
    };
    let booking = app
        .cashier()
        .pay_for_hold(
            hold_id,
            (&claims.sub, claims.ver),
            token,
            keyed.as_ref(),
            Some(&note_for),
        )
        .await;
    match booking {
        Ok(booking) => created(&view(&booking)),
        Err(PayError::KeyUsed(begin)) => used(begin),
        Err(PayError::NoSuchHold) => Err(no_hold(hold_id)),
        Err(e) => Err(refused(e)),
    }
}

/// The answer's body (also what a keyed request's answer records).
fn view(booking: &Booking) -> serde_json::Value {
    json!({ "booking": BookingView::from(booking) })
}

fn no_hold(hold_id: &str) -> ApiError {
    ApiError::NotFound(format!("no hold `{hold_id}`"))
}

fn refused(e: PayError) -> ApiError {
    match e {
        PayError::HoldEnded(HoldStatus::Released) => {
            ApiError::Gone("this hold was released; hold the seats again".into())
        }
        PayError::HoldEnded(_) => {
            ApiError::Gone("this hold has expired; hold the seats again".into())
        }
        PayError::AlreadyBooked { booking_id } => {
            let mut extras = Map::new();
            extras.insert("booking_id".into(), json!(booking_id));
            ApiError::Conflict(
                "this hold was already confirmed into a booking".into(),
                extras,
            )
        }
        PayError::EventClosed => {
            ApiError::conflict("this event was cancelled by its organizer; nothing was charged")
        }
        PayError::SessionEnded => ApiError::Unauthorized(format!(
            "{}; nothing was charged",
            evently_http::app::SESSION_ENDED
        )),
        PayError::Declined => ApiError::PaymentRequired(
            "the card was declined; your hold stays until it expires".into(),
        ),
        PayError::InvalidToken(message) => ApiError::Unprocessable {
            field: "payment_details.card_token".into(),
            message,
        },
        PayError::NotYours => ApiError::Forbidden("this hold belongs to someone else".into()),
        PayError::NoSuchHold | PayError::KeyUsed(_) => {
            ApiError::Internal(format!("{e} answered as a refusal"))
        }
        PayError::ProviderUnavailable(_) => ApiError::unavailable(
            "the payment service did not answer; try again with the same Idempotency-Key",
        ),
        PayError::Store(e) => e.into(),
    }
}
