//! POST /api/v1/seats/hold — take 1–10 seats of one section for a few
//! minutes. One DynamoDB transaction: every seat must be available or held
//! under an expired hold; on conflict the answer names exactly which seats.
//! Without `seat_ids`, `{quantity, section_id?, max_price?}` asks for the
//! best available seats (`evently_core::best`): chosen from the sections'
//! seat maps, held by the same transaction, and a lost race tries the next
//! best choice (a few times) before answering 409.

use chrono::Duration;
use evently_core::hold::{validate_seats, HoldRefused};
use evently_core::{new_id, Event, EventSection, EventStatus, Hold, HoldStatus, Money, SeatId};
use evently_http::idempotency::{used, Keyed};
use evently_http::queue::require_admission;
use evently_http::request::json_body;
use evently_http::response::created;
use evently_http::views::{cached_public_event, seat_maps, HoldView};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use evently_store::HoldError;
use serde::Deserialize;
use serde_json::{json, Map};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldRequest {
    event_id: String,
    section_id: Option<String>,
    /// The seats; without them, the best `quantity` available.
    seat_ids: Option<Vec<String>>,
    quantity: Option<u32>,
    max_price: Option<Money>,
}

/// Choices a best-available request tries before answering 409 (each lost
/// race excludes the seats it lost).
const BEST_ATTEMPTS: usize = 4;

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::Unprocessable {
        field: field.into(),
        message: message.into(),
    }
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
    place(app, &req, &claims.sub, claims.ver, key.as_ref()).await
}

/// One round trip to DynamoDB on the way to a hold: the event comes from
/// this function's copy (`cached_public_event`), and the seats, the hold,
/// the holder's guard and the Idempotency-Key's answer are one
/// transaction. A key used before answers from its record.
async fn place(
    app: &App,
    req: &Request,
    user_id: &str,
    session: u64,
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
    let Some(seat_ids) = body.seat_ids else {
        return best_available(app, &event, &body, (user_id, session), key).await;
    };
    if body.quantity.is_some() || body.max_price.is_some() {
        return Err(invalid(
            "seat_ids",
            "name the seats, or ask for a quantity (best available): not both",
        ));
    }
    let section_id = body
        .section_id
        .ok_or_else(|| invalid("section_id", "the section of the seats is required"))?;
    let seat_ids = validate_seats(&event, &section_id, &seat_ids).map_err(|e| match e {
        HoldRefused::UnknownSection(s) => ApiError::NotFound(format!("event has no section `{s}`")),
        HoldRefused::Invalid(invalid) => invalid.into(),
    })?;
    let section = event
        .section(&section_id)
        .ok_or_else(|| ApiError::NotFound("no such section".into()))?;
    match try_hold(app, &event, section, seat_ids, (user_id, session), key).await? {
        Ok(resp) => Ok(resp),
        Err(taken) => {
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
    }
}

/// The best `quantity` seats available (in `section_id`, or in any section
/// at most `max_price`, dearest first), held.
async fn best_available(
    app: &App,
    event: &Event,
    body: &HoldRequest,
    caller: (&str, u64),
    key: Option<&Keyed>,
) -> Result<Response<Body>, ApiError> {
    let max = evently_core::hold::MAX_SEATS_PER_HOLD as u32;
    let quantity = body.quantity.ok_or_else(|| {
        invalid(
            "quantity",
            "ask for seat_ids, or a quantity of best available seats",
        )
    })?;
    if !(1..=max).contains(&quantity) {
        return Err(invalid(
            "quantity",
            format!("hold 1 to {max} seats at a time"),
        ));
    }
    let mut sections: Vec<&EventSection> = match &body.section_id {
        Some(id) => vec![event
            .section(id)
            .ok_or_else(|| ApiError::NotFound(format!("event has no section `{id}`")))?],
        None => event.sections.iter().collect(),
    };
    if let Some(limit) = body.max_price {
        sections.retain(|s| s.price <= limit);
        if sections.is_empty() {
            return Err(invalid(
                "max_price",
                format!("no seat here costs {limit} or less"),
            ));
        }
    }
    // The dearest sections the price allows first (the best seats).
    sections.sort_by_key(|s| std::cmp::Reverse(s.price));
    let maps = seat_maps(app, event, &sections).await?;
    let now = app.clock.now();
    let mut lost: std::collections::HashSet<SeatId> = Default::default();
    for _ in 0..BEST_ATTEMPTS {
        let choice = sections.iter().zip(&maps).find_map(|(section, map)| {
            let grid = event.layout.iter().find(|g| g.id == section.id)?;
            let free = |seat: &SeatId| {
                !lost.contains(seat)
                    && evently_core::status_of_mark(map.get(&seat.to_string()).copied(), now)
                        == evently_core::SeatStatus::Available
            };
            evently_core::best::choose(grid, &free, quantity).map(|seats| (*section, seats))
        });
        let Some((section, seats)) = choice else {
            return Err(ApiError::conflict(format!(
                "{quantity} seats are not available{}",
                match &body.section_id {
                    Some(s) => format!(" in section {s}"),
                    None => String::new(),
                }
            )));
        };
        match try_hold(app, event, section, seats, caller, key).await? {
            Ok(resp) => return Ok(resp),
            // Taken since the map was drawn: the next best choice.
            Err(taken) => lost.extend(taken),
        }
    }
    Err(ApiError::conflict(
        "the best seats kept being taken while we tried; try again",
    ))
}

/// Holds `seat_ids` of `section` for the caller (user id and the token
/// version its session was issued under): the answer, or (Err) the seats
/// someone else holds or booked.
async fn try_hold(
    app: &App,
    event: &Event,
    section: &EventSection,
    seat_ids: Vec<SeatId>,
    (user_id, session): (&str, u64),
    key: Option<&Keyed>,
) -> Result<Result<Response<Body>, Vec<SeatId>>, ApiError> {
    let now = app.clock.now();
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
    let refused = match app
        .store
        .create_hold(&hold, now, max, recorded.as_ref(), session)
        .await
    {
        Ok(()) => return Ok(Ok(answer)),
        Err(HoldError::KeyUsed(begin)) => return Ok(Ok(used(begin)?)),
        Err(HoldError::Conflict {
            seats: taken,
            own_hold,
        }) => {
            if let Some(mine) = own_live_hold(app, &hold, own_hold.as_deref()).await? {
                return Ok(Ok(created(&HoldView::from(&mine))?));
            }
            return Ok(Err(taken));
        }
        Err(e) => e,
    };
    Err(match refused {
        HoldError::UnknownSeats(missing) => {
            let ids: Vec<String> = missing.iter().map(ToString::to_string).collect();
            ApiError::NotFound(format!("no such seats in this event: {}", ids.join(", ")))
        }
        HoldError::OverUserLimit { held, max } => {
            let mut extras = Map::new();
            extras.insert("held_seats".into(), json!(held));
            extras.insert("max_held_seats".into(), json!(max));
            ApiError::Conflict(
                format!("you already hold {held} seats of this event; at most {max} at once"),
                extras,
            )
        }
        HoldError::EventClosed => {
            ApiError::conflict("this event is cancelled; its seats cannot be held")
        }
        HoldError::SessionEnded => ApiError::Unauthorized(evently_http::app::SESSION_ENDED.into()),
        HoldError::Store(e) => e.into(),
        HoldError::KeyUsed(_) | HoldError::Conflict { .. } => {
            ApiError::Internal("a hold refusal answered twice".into())
        }
    })
}
