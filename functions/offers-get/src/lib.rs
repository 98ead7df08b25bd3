//! GET /api/v1/waitlist/offers/{claim_token} — what the email's claim link
//! opens. The unguessable token is the credential: no login needed to look.

use evently_core::OfferStatus;
use evently_http::request::path_param;
use evently_http::response::ok;
use evently_http::views::{EventView, OfferView};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(get(app, req))
}

async fn get(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let token = path_param(&req, "claim_token")?;
    let missing = || ApiError::NotFound("no such offer".into());
    let well_formed = token.len() == 32 && token.chars().all(|c| c.is_ascii_hexdigit());
    if !well_formed {
        return Err(missing());
    }
    let offer = app.store.get_offer(&token).await?.ok_or_else(missing)?;
    let now = app.clock.now();
    let status = match offer.status {
        OfferStatus::Open if offer.expires_at <= now => OfferStatus::Expired,
        other => other,
    };
    match status {
        OfferStatus::Open => {}
        OfferStatus::Taken => return Err(ApiError::Gone("this offer was already booked".into())),
        OfferStatus::Expired => return Err(ApiError::Gone("this offer has expired".into())),
        OfferStatus::Withdrawn => return Err(ApiError::Gone("this offer was withdrawn".into())),
    }
    let event = app.store.get_event(&offer.event_id).await?.ok_or_else(|| {
        ApiError::Internal(format!("offer {} names a missing event", offer.claim_token))
    })?;
    ok(&json!({
        "offer": OfferView::from(&offer),
        "event": EventView::of(app, &event, now).await?,
        "status": status,
    }))
}
