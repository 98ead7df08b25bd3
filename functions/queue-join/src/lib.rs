//! POST /api/v1/events/{event_id}/queue — a place in the event's waiting
//! room: 201 with a new ticket, 200 with the one the caller already has (a
//! refresh never loses a place; an admission that lapsed unused gets a new
//! ticket at the back). One transaction (see evently_store's queue.rs).

use evently_core::{EventStatus, Standing};
use evently_http::queue::{queue_state, ticket_view};
use evently_http::request::{optional_json_body, path_param};
use evently_http::response::{created, ok};
use evently_http::views::cached_public_event;
use evently_http::{reply, ApiError, App, Body, Claims, Reply, Request, Response};
use evently_store::Joined;
use serde::Deserialize;
use serde_json::json;

/// Nothing to say: the body may be empty or `{}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JoinRequest {}

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(join(app, req))
}

async fn join(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    // The session's token version is checked in the join's transaction
    // (a join stays one round trip in an on-sale's rush); a refusal before
    // it checks it by a read.
    let claims = app.tokens.authenticate(&req).await?;
    app.session_checked(&claims, join_as(app, &req, &claims).await)
        .await
}

async fn join_as(app: &App, req: &Request, claims: &Claims) -> Result<Response<Body>, ApiError> {
    let _: Option<JoinRequest> = optional_json_body(req)?;
    let event = cached_public_event(app, &path_param(req, "event_id")?).await?;
    let mut now = app.clock.now();
    if event.status != EventStatus::Published {
        return Err(ApiError::conflict("this event is cancelled"));
    }
    if event.starts_at <= now {
        return Err(ApiError::conflict("this event has already started"));
    }
    let Some(admission) = &event.admission else {
        return Err(ApiError::conflict(
            "this event has no waiting room: hold seats directly",
        ));
    };
    let mut replacing = None;
    let mut restamped = false;
    loop {
        match app
            .store
            .join_queue(&event, (&claims.sub, claims.ver), now, replacing.as_deref())
            .await?
        {
            Joined::New(ticket) => {
                let late = app.clock.now() - now
                    >= chrono::Duration::seconds(evently_core::queue::RESTAMP_AFTER_SECS);
                if late && !restamped {
                    // The write took so long that the admitter may have
                    // numbered past its time already: join again, now (a
                    // ticket it did number anyway goes unused).
                    restamped = true;
                    replacing = Some(ticket.id);
                    now = app.clock.now();
                    continue;
                }
                let state = queue_state(app, &event.id).await?;
                let view = ticket_view(app, &event, &ticket, &state, now).await?;
                return created(&json!({ "ticket": view }));
            }
            Joined::Already(id) => {
                let ticket = app
                    .store
                    .queue_ticket(&event.id, &id)
                    .await?
                    .ok_or_else(|| {
                        ApiError::Internal(format!("queue place names missing ticket {id}"))
                    })?;
                let state = queue_state(app, &event.id).await?;
                let lapsed = state.standing(&ticket, admission, now) == Standing::Expired;
                if lapsed && replacing.is_none() {
                    replacing = Some(id);
                    continue;
                }
                let view = ticket_view(app, &event, &ticket, &state, now).await?;
                return ok(&json!({ "ticket": view }));
            }
        }
    }
}
