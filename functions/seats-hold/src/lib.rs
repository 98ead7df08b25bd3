//! POST /api/v1/seats/hold — take 1–10 seats of one section for a few
//! minutes. One DynamoDB transaction: every seat must be available or held
//! under an expired hold; on conflict the answer names exactly which seats.

use chrono::Duration;
use evently_core::hold::{validate_seats, HoldRefused};
use evently_core::{new_id, EventStatus, Hold, HoldStatus};
use evently_http::idempotency::{used, Keyed};
use evently_http::queue::require_admission;
use evently_http::request::json_body;
use evently_http::response::created;
use evently_http::views::{cached_public_event, HoldView};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use evently_store::HoldError;
use serde::Deserialize;
use serde_json::{json, Map};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldRequest {
    event_id: String,
    section_id: String,
    seat_ids: Vec<String>,
}

/// The caller's own live hold of exactly the seats asked for, when the
/// conflict says every contested seat is theirs under one hold: a waitlist
/// offer reserved for them ("book from the email link"), or a hold this
/// same request made before its answer was lost. Holding seats you already
/// hold returns that hold. Only looked up when the transaction's
/// cancellation reasons name one hold of the caller's.
async fn own_live_hold(
    app: &App,
    wanted: &Hold,
    own_hold: Option<&str>,
) -> Result<Option<Hold>, ApiError> {
    let Some(id) = own_hold else { return Ok(None) };
    let Some(existing) = app.store.get_hold(id).await? else {
        return Ok(None);
    };
    let mut mine = existing.seat_ids.clone();
    mine.sort();
    let same_seats = mine == wanted.seat_ids && existing.event_id == wanted.event_id;
    Ok(
        (existing.user_id == wanted.user_id && existing.is_live(app.clock.now()) && same_seats)
            .then_some(existing),
    )
}

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(hold_seats(app, req))
}

async fn hold_seats(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.tokens.authenticate(&req).await?;
    let key = Keyed::of(&req, &claims.sub)?;
    place(app, &req, &claims.sub, key.as_ref()).await
}

/// One round trip to DynamoDB on the way to a hold: the event comes from
/// this function's copy (`cached_public_event`), and the seats, the hold,
/// the holder's guard and the Idempotency-Key's answer are one
/// transaction. A key used before answers from its record.
async fn place(
    app: &App,
    req: &Request,
    user_id: &str,
    key: Option<&Keyed>,
) -> Result<Response<Body>, ApiError> {
    let body: HoldRequest = json_body(req)?;
    let event = cached_public_event(app, &body.event_id).await?;
    let now = app.clock.now();
    if event.status != EventStatus::Published {
        return Err(ApiError::conflict(
            "this event is cancelled; its seats cannot be held",
        ));
    }
    if event.starts_at <= now {
        return Err(ApiError::conflict("this event has already started"));
    }
    require_admission(app, req, &event, user_id, now).await?;
    let seat_ids =
        validate_seats(&event, &body.section_id, &body.seat_ids).map_err(|e| match e {
            HoldRefused::UnknownSection(s) => {
                ApiError::NotFound(format!("event has no section `{s}`"))
            }
            HoldRefused::Invalid(invalid) => invalid.into(),
        })?;
    let section = event
        .section(&body.section_id)
        .ok_or_else(|| ApiError::NotFound("no such section".into()))?;
    let hold = Hold {
        id: new_id(),
        user_id: user_id.to_owned(),
        event_id: event.id.clone(),
        section_id: section.id.clone(),
        total_price: section.price * seat_ids.len() as i64,
        seat_ids,
        status: HoldStatus::Active,
        created_at: now,
        expires_at: now + Duration::seconds(app.config.hold_ttl_secs),
        offer: None,
    };
    let max = app.config.max_held_seats_per_user as u32;
    let answer = created(&HoldView::from(&hold))?;
    let recorded = match (key, answer.body()) {
        (Some(key), Body::Text(text)) => Some(key.answer(201, text.clone())),
        _ => None,
    };
    match app
        .store
        .create_hold(&hold, now, max, recorded.as_ref())
        .await
    {
        Ok(()) => Ok(answer),
        Err(HoldError::KeyUsed(begin)) => used(begin),
        Err(HoldError::Conflict {
            seats: taken,
            own_hold,
        }) => {
            if let Some(mine) = own_live_hold(app, &hold, own_hold.as_deref()).await? {
                return created(&HoldView::from(&mine));
            }
            let ids: Vec<String> = taken.iter().map(ToString::to_string).collect();
            let mut extras = Map::new();
            extras.insert("conflicting_seat_ids".into(), json!(ids));
            Err(ApiError::Conflict(
                format!(
                    "these seats are held or booked by someone else: {}",
                    ids.join(", ")
                ),
                extras,
            ))
        }
        Err(HoldError::UnknownSeats(missing)) => {
            let ids: Vec<String> = missing.iter().map(ToString::to_string).collect();
            Err(ApiError::NotFound(format!(
                "no such seats in this event: {}",
                ids.join(", ")
            )))
        }
        Err(HoldError::OverUserLimit { held, max }) => {
            let mut extras = Map::new();
            extras.insert("held_seats".into(), json!(held));
            extras.insert("max_held_seats".into(), json!(max));
            Err(ApiError::Conflict(
                format!("you already hold {held} seats of this event; at most {max} at once"),
                extras,
            ))
        }
        Err(HoldError::EventClosed) => Err(ApiError::conflict(
            "this event is cancelled; its seats cannot be held",
        )),
        Err(HoldError::Store(e)) => Err(e.into()),
    }
}
