//! POST /api/v1/bookings/confirm — pay for a live hold and turn it into a
//! booking. The payment rules (attempt recorded before the charge, charge
//! keyed by hold and card, booking and attempt closed in one transaction,
//! refund of a charge that bought nothing) live in `evently_payments`; this
//! translates HTTP.

use evently_core::HoldStatus;
use evently_http::idempotency::idempotent;
use evently_http::request::json_body;
use evently_http::response::created;
use evently_http::views::{own_hold, BookingView};
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
    let claims = app.tokens.authenticate(&req).await?;
    idempotent(app, &req, &claims.sub, |attempt| {
        book(app, &req, &claims.sub, attempt.recovering)
    })
    .await
}

async fn book(
    app: &App,
    req: &Request,
    user_id: &str,
    recovering: bool,
) -> Result<Response<Body>, ApiError> {
    let body: Confirm = json_body(req)?;
    let hold = own_hold(app, &body.hold_id, user_id).await?;
    let token = body.payment_details.card_token.trim();
    if token.is_empty() || token.len() > 255 {
        return Err(ApiError::Unprocessable {
            field: "payment_details.card_token".into(),
            message: "a card token is required".into(),
        });
    }
    let booking = app
        .cashier()
        .pay_for_hold(&hold, token, recovering)
        .await
        .map_err(refused)?;
    created(&json!({ "booking": BookingView::from(&booking) }))
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
        PayError::Declined => ApiError::PaymentRequired(
            "the card was declined; your hold stays until it expires".into(),
        ),
        PayError::InvalidToken(message) => ApiError::Unprocessable {
            field: "payment_details.card_token".into(),
            message,
        },
        PayError::ProviderUnavailable(_) => ApiError::unavailable(
            "the payment service did not answer; try again with the same Idempotency-Key",
        ),
        PayError::Store(e) => e.into(),
    }
}
