//! Events as their organizer manages them, one function for the resource:
//! - POST /api/v1/admin/events — a draft from a venue template; its seats
//!   are written by the request while it has time, the rest by the seating
//!   job (up to 100,000 seats)
//! - GET /api/v1/admin/events — the caller's events, drafts included
//! - GET /api/v1/admin/events/{event_id} — one
//! - PATCH /api/v1/admin/events/{event_id} — edit a draft, publish, cancel
//! - GET /api/v1/admin/events/{event_id}/waitlist — its line, in order

use evently_core::admin::{EventInput, EventPatch, PatchRefused, Transition};
use evently_core::{new_id, EntryStatus, Event, EventStatus, Role, Seating};
use evently_http::admin::{materialise, organizer, owned_event, owned_venue, AdminEventView};
use evently_http::idempotency::idempotent;
use evently_http::request::json_body;
use evently_http::response::{created, ok};
use evently_http::{reply, ApiError, App, Body, Claims, Reply, Request, Response};
use lambda_http::http::Method;
use lambda_http::RequestExt;
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(route(app, req))
}

async fn route(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = organizer(app, &req).await?;
    let event_id = req.path_parameters().first("event_id").map(str::to_owned);
    let waitlist = req
        .uri()
        .path()
        .trim_end_matches('/')
        .ends_with("/waitlist");
    match (req.method().clone(), event_id) {
        (Method::POST, None) => create(app, &claims, &req).await,
        (Method::GET, None) => list(app, &claims).await,
        (Method::GET, Some(id)) if waitlist => line(app, &claims, &id).await,
        (Method::GET, Some(id)) => {
            ok(&json!({ "event": AdminEventView::from(&owned_event(app, &claims, &id).await?) }))
        }
        (Method::PATCH, Some(id)) => patch(app, &claims, &req, &id).await,
        (method, _) => Err(ApiError::MethodNotAllowed(format!(
            "{method} is not served here"
        ))),
    }
}

async fn create(app: &App, claims: &Claims, req: &Request) -> Result<Response<Body>, ApiError> {
    // A retried POST with the same Idempotency-Key makes one event.
    idempotent(app, req, &claims.sub, |_| make(app, claims, req)).await
}

async fn make(app: &App, claims: &Claims, req: &Request) -> Result<Response<Body>, ApiError> {
    let input: EventInput = json_body(req)?;
    let venue = owned_venue(app, claims, &input.venue_id).await?;
    let event = input.into_event(new_id(), claims.sub.clone(), &venue, app.clock.now())?;
    // The event first (as `materialising`), then its seats: if this dies
    // midway the draft exists, says so, and any PATCH finishes the seats.
    app.store.create_event(&event).await?;
    let event = materialise(app, &event).await?;
    created(&json!({ "event": AdminEventView::from(&event) }))
}

async fn list(app: &App, claims: &Claims) -> Result<Response<Body>, ApiError> {
    let events: Vec<Event> = if claims.role == Role::Admin {
        let ids: Vec<String> = app
            .store
            .counted_events(None)
            .await?
            .into_iter()
            .map(|c| c.event_id)
            .collect();
        let found =
            evently_http::views::futures_join(ids.iter().map(|id| app.store.get_event(id))).await?;
        found.into_iter().flatten().collect()
    } else {
        app.store.owner_events(&claims.sub).await?
    };
    let views: Vec<AdminEventView> = events.iter().map(AdminEventView::from).collect();
    ok(&json!({ "events": views }))
}

async fn patch(
    app: &App,
    claims: &Claims,
    req: &Request,
    id: &str,
) -> Result<Response<Body>, ApiError> {
    let read = owned_event(app, claims, id).await?;
    let patch: EventPatch = json_body(req)?;
    let now = app.clock.now();
    let mut event = read.clone();
    let transition = patch.apply(&mut event, now).map_err(|e| match e {
        PatchRefused::Invalid(i) => ApiError::from(i),
        PatchRefused::Conflict(c) => ApiError::conflict(c),
    })?;
    if transition == Transition::Cancel {
        // Marking it is all this request does; the table's stream hands the
        // refunds, the waitlist and the emails to the worker. Each request
        // bumps `cancel_runs`, so repeating it reruns that job.
        event.status = EventStatus::Cancelled;
        event.cancelled_at.get_or_insert(now);
        event.cancel_runs += 1;
        app.store.save_event(&event, &read).await?;
        return ok(&json!({ "event": AdminEventView::from(&event) }));
    }
    let mut current = read;
    if event != current {
        app.store.save_event(&event, &current).await?;
        current = event;
    }
    if current.status == EventStatus::Draft && current.seating == Seating::Materialising {
        // New prices, or an earlier run that did not finish.
        current = materialise(app, &current).await?;
        if current.seating == Seating::Materialising && transition == Transition::Publish {
            // Out of time with seats still to write: this request's edits
            // are saved and the seating job carries on by itself.
            return Err(ApiError::unavailable(
                "the event's seats are still being written; publish it again once its seating is ready",
            ));
        }
    }
    if transition == Transition::Publish {
        if current.total_seats() == 0 {
            // Templates cannot have empty sections; this guards the rule
            // itself, whatever wrote the event.
            return Err(ApiError::conflict(
                "an event without seats cannot be published",
            ));
        }
        let mut published = current.clone();
        published.status = EventStatus::Published;
        app.store.save_event(&published, &current).await?;
        current = published;
    }
    ok(&json!({ "event": AdminEventView::from(&current) }))
}

async fn line(app: &App, claims: &Claims, id: &str) -> Result<Response<Body>, ApiError> {
    let event = owned_event(app, claims, id).await?;
    let entries = app.store.event_entries(&event.id).await?;
    let mut position = 0u32;
    let views: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            let place = (e.status == EntryStatus::Waiting).then(|| {
                position += 1;
                position
            });
            json!({
                "id": e.id,
                "user_id": e.user_id,
                "quantity": e.quantity,
                "preferences": e.preferences,
                "status": e.status,
                "position": place,
                "joined_at": evently_core::clock::rfc3339(e.joined_at),
            })
        })
        .collect();
    ok(&json!({ "event_id": event.id, "entries": views }))
}
