//! What the organizer routes share: the role check, ownership (an
//! organizer sees only their own venues and events; an admin sees all),
//! seat materialisation, and the JSON shapes of templates and events.

use chrono::{DateTime, Utc};
use evently_core::clock::rfc3339;
use evently_core::venue::SeatPosition;
use evently_core::{
    CancellationPolicy, Event, EventSection, EventStatus, Money, Role, Seating, SectionTemplate,
    VenueRef, VenueTemplate,
};
use evently_store::EventWriteError;
use serde::Serialize;

use crate::{ApiError, App, Claims, Request};

/// The caller, if they organize: customers get 403 on every admin route.
pub async fn organizer(app: &App, req: &Request) -> Result<Claims, ApiError> {
    let claims = app.authenticate(req).await?;
    match claims.role {
        Role::Organizer | Role::Admin => Ok(claims),
        Role::Customer => Err(ApiError::Forbidden(
            "organizer routes need an organizer or admin account".into(),
        )),
    }
}

fn may_see(claims: &Claims, owner_id: &str) -> bool {
    claims.role == Role::Admin || claims.sub == owner_id
}

/// An event the caller organizes. Someone else's event is 404, exactly like
/// one that does not exist: its existence is not the caller's business.
pub async fn owned_event(app: &App, claims: &Claims, event_id: &str) -> Result<Event, ApiError> {
    let missing = || ApiError::NotFound(format!("you organize no event `{event_id}`"));
    if !evently_core::ids::is_ulid(event_id) {
        return Err(missing());
    }
    match app.store.get_event(event_id).await? {
        Some(e) if may_see(claims, &e.owner_id) => Ok(e),
        _ => Err(missing()),
    }
}

/// An event at whose door the caller works: its organizer (or an admin),
/// or someone its organizer made door staff. Anyone else: a customer is
/// refused as on every organizer route (403), an organizer is told there is
/// no such event (404), as for events they do not organize.
pub async fn door_event(
    app: &App,
    req: &Request,
    event_id: &str,
) -> Result<(Claims, Event), ApiError> {
    let claims = app.authenticate(req).await?;
    let refused = |claims: &Claims| match claims.role {
        Role::Customer => {
            ApiError::Forbidden("only the event's organizer and its door staff may do this".into())
        }
        _ => ApiError::NotFound(format!("you organize no event `{event_id}`")),
    };
    if !evently_core::ids::is_ulid(event_id) {
        return Err(refused(&claims));
    }
    let Some(event) = app.store.get_event(event_id).await? else {
        return Err(refused(&claims));
    };
    if may_see(&claims, &event.owner_id) || app.store.is_staff(&event.id, &claims.sub).await? {
        return Ok((claims, event));
    }
    Err(refused(&claims))
}

/// A venue template the caller owns (404 otherwise, as for events).
pub async fn owned_venue(
    app: &App,
    claims: &Claims,
    venue_id: &str,
) -> Result<VenueTemplate, ApiError> {
    let missing = || ApiError::NotFound(format!("you have no venue `{venue_id}`"));
    if !evently_core::ids::is_ulid(venue_id) {
        return Err(missing());
    }
    match app.store.get_venue(venue_id).await? {
        Some(v) if may_see(claims, &v.owner_id) => Ok(v),
        _ => Err(missing()),
    }
}

impl From<EventWriteError> for ApiError {
    fn from(e: EventWriteError) -> Self {
        match e {
            EventWriteError::Changed => ApiError::conflict(
                "the event changed while this request was working on it; read it again and retry",
            ),
            EventWriteError::Store(e) => e.into(),
        }
    }
}

/// Writes what the request has time for of a draft's seats (see
/// evently_store's seating.rs) and, when some are left, asks for a run of
/// the seating job, which carries on without the organizer: the event comes
/// back `materialising` and turns `ready` by itself.
pub async fn materialise(app: &App, event: &Event) -> Result<Event, ApiError> {
    let event = app
        .store
        .materialise_seats(event)
        .await
        .map_err(|e| match e {
            evently_store::SeatingError::NoGrid(section) => ApiError::conflict(format!(
                "section {section} of this event has no seat grid to write; it cannot be published"
            )),
            evently_store::SeatingError::Store(e) => e.into(),
        })?;
    if event.seating == Seating::Materialising {
        app.store.request_seating_run(&event.id).await?;
    }
    Ok(event)
}

/// A section of a template with its size and, when asked, every seat's
/// position for drawing the map.
#[derive(Debug, Serialize)]
pub struct SectionView {
    pub id: String,
    pub name: String,
    pub rows: u32,
    pub seats_per_row: u32,
    pub capacity: u32,
    pub default_price: Money,
    pub origin_x: u32,
    pub origin_y: u32,
    pub gaps: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seats: Option<Vec<SeatPosition>>,
}

#[derive(Debug, Serialize)]
pub struct VenueView {
    pub id: String,
    pub name: String,
    pub city: String,
    pub capacity: u32,
    pub sections: Vec<SectionView>,
    pub created_at: String,
}

impl VenueView {
    pub fn of(venue: &VenueTemplate, with_seats: bool) -> Self {
        let section = |s: &SectionTemplate| SectionView {
            id: s.id.clone(),
            name: s.name.clone(),
            rows: s.rows,
            seats_per_row: s.seats_per_row,
            capacity: s.capacity(),
            default_price: s.default_price,
            origin_x: s.origin_x,
            origin_y: s.origin_y,
            gaps: s.gaps.iter().map(ToString::to_string).collect(),
            seats: with_seats.then(|| s.seats()),
        };
        Self {
            id: venue.id.clone(),
            name: venue.name.clone(),
            city: venue.city.clone(),
            capacity: venue.capacity(),
            sections: venue.sections.iter().map(section).collect(),
            created_at: venue.created_at.clone(),
        }
    }
}

/// An event as its organizer sees it: drafts included, with the seating
/// state and the per-section prices.
#[derive(Debug, Serialize)]
pub struct AdminEventView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub starts_at: String,
    pub ends_at: String,
    pub status: EventStatus,
    pub seating: Seating,
    pub currency: String,
    pub venue: VenueRef,
    pub sections: Vec<EventSection>,
    pub total_seats: u32,
    pub cancellation_policy: CancellationPolicy,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<String>,
    /// The waiting room in front of its on-sale (null: none).
    pub admission: Option<evently_core::Admission>,
}

impl From<&Event> for AdminEventView {
    fn from(e: &Event) -> Self {
        Self {
            id: e.id.clone(),
            name: e.name.clone(),
            description: e.description.clone(),
            starts_at: rfc3339(e.starts_at),
            ends_at: rfc3339(e.ends_at),
            status: e.status,
            seating: e.seating,
            currency: e.currency.clone(),
            venue: e.venue.clone(),
            sections: e.sections.clone(),
            total_seats: e.total_seats(),
            cancellation_policy: e.cancellation_policy.clone(),
            created_at: rfc3339(e.created_at),
            cancelled_at: e.cancelled_at.map(rfc3339),
            admission: e.admission.clone(),
        }
    }
}

/// `now` as a template's `created_at` (templates keep it as a string).
pub fn stamp(now: DateTime<Utc>) -> String {
    rfc3339(now)
}
