//! POST /api/v1/waitlist/join — get in line for an event's seats.
//!
//! Decisions (documented in docs/openapi.yaml): joining is refused (409)
//! when seats that fit the request can be held right now — the waitlist is
//! for seats that are gone — and for events that are cancelled or have
//! started. One active entry per user per event.

use evently_core::waitlist::validate_quantity;
use evently_core::{new_id, EntryStatus, EventStatus, Preferences, WaitlistEntry};
use evently_http::idempotency::idempotent;
use evently_http::request::json_body;
use evently_http::response::created;
use evently_http::views::{available_in, futures_join, public_event, seat_maps, EntryView};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use evently_store::JoinError;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Join {
    event_id: String,
    quantity: i64,
    #[serde(default)]
    preferences: Preferences,
}

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(join(app, req))
}

async fn join(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.authenticate(&req).await?;
    idempotent(app, &req, &claims.sub, |attempt| {
        enter(app, &req, &claims.sub, attempt.recovering)
    })
    .await
}

async fn enter(
    app: &App,
    req: &Request,
    user_id: &str,
    recovering: bool,
) -> Result<Response<Body>, ApiError> {
    let body: Join = json_body(req)?;
    let quantity = validate_quantity(body.quantity)?;
    if let Some(max) = body.preferences.max_price {
        max.check_price("preferences.max_price")?;
    }
    let event = public_event(app, &body.event_id).await?;
    let now = app.clock.now();
    if event.status != EventStatus::Published {
        return Err(ApiError::conflict("this event is cancelled"));
    }
    if event.starts_at <= now {
        return Err(ApiError::conflict("this event has already started"));
    }
    if let Some(section) = &body.preferences.section_id {
        if event.section(section).is_none() {
            return Err(ApiError::Unprocessable {
                field: "preferences.section_id".into(),
                message: format!("the event has no section `{section}`"),
            });
        }
    }
    let fitting: Vec<_> = event
        .sections
        .iter()
        .filter(|s| {
            body.preferences
                .section_id
                .as_deref()
                .is_none_or(|id| id == s.id)
        })
        .filter(|s| body.preferences.max_price.is_none_or(|max| s.price <= max))
        .collect();
    // The seat maps first (one Query per section): in a sell-out, when
    // people join, they show no room and nothing more is read. Where a map
    // shows room, the seats themselves decide (a Query per row), so a map
    // behind the stream never refuses anyone wrongly. A map that missed a
    // seat freed a moment ago lets someone wait for seats that are about
    // to be offered to the line anyway.
    let maps = seat_maps(app, &event, &fitting).await?;
    let roomy: Vec<_> = fitting
        .iter()
        .zip(&maps)
        .filter(|(s, map)| available_in(s, map, now) >= quantity)
        .map(|(s, _)| *s)
        .collect();
    let free = futures_join(
        roomy
            .iter()
            .map(|s| app.store.count_free_seats(&event, &s.id, now)),
    )
    .await?;
    if free.iter().any(|n| *n >= quantity) {
        return Err(ApiError::conflict(
            "seats that fit this request are available now: hold them instead of waiting",
        ));
    }
    let entry = WaitlistEntry {
        id: new_id(),
        user_id: user_id.to_owned(),
        event_id: event.id.clone(),
        quantity,
        preferences: body.preferences,
        status: EntryStatus::Waiting,
        joined_at: now,
        claim_token: None,
    };
    match app.store.join_waitlist(&entry).await {
        Ok(()) => created(&json!({ "entry": EntryView::of(app, &entry).await? })),
        Err(JoinError::AlreadyActive) => {
            // A retry of a request that died after joining finds its own
            // entry: that is this request's success.
            if recovering {
                if let Some(mine) = app.store.user_entry(user_id, &event.id).await? {
                    let same = mine.quantity == entry.quantity
                        && mine.preferences == entry.preferences
                        && matches!(mine.status, EntryStatus::Waiting | EntryStatus::Offered);
                    if same {
                        return created(&json!({ "entry": EntryView::of(app, &mine).await? }));
                    }
                }
            }
            Err(ApiError::conflict("you are already in line for this event"))
        }
        Err(JoinError::Store(e)) => Err(e.into()),
    }
}
