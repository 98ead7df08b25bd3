//! JSON shapes of the API (API.md) built from domain values, shared by the
//! functions that answer with them.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use evently_core::clock::rfc3339;
use evently_core::{
    status_of_mark, CancellationPolicy, Event, EventSection, EventStatus, Money, SeatMap,
    SeatStatus, User, VenueRef,
};
use serde::Serialize;

use crate::{ApiError, App};

#[derive(Debug, Serialize)]
pub struct Session {
    pub user: User,
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

impl Session {
    /// A token for `user` under its account's token `version`.
    pub async fn issue(app: &App, user: User, version: u64) -> Result<Self, ApiError> {
        let ttl = app.config.access_token_ttl_secs;
        let access_token = app
            .tokens
            .issue(&user, version, app.clock.now(), ttl)
            .await?;
        Ok(Self {
            user,
            access_token,
            token_type: "Bearer",
            expires_in: ttl,
        })
    }
}

#[derive(Debug, Serialize)]
pub struct PriceRange {
    pub min: Money,
    pub max: Money,
}

#[derive(Debug, Serialize)]
pub struct EventView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub starts_at: String,
    pub ends_at: String,
    pub status: EventStatus,
    pub currency: String,
    pub venue: VenueRef,
    pub price_range: PriceRange,
    pub total_seats: u32,
    pub available_seats: u32,
    pub sold_out: bool,
    pub cancellation_policy: CancellationPolicy,
    /// Its waiting room, if the on-sale has one: join it before holding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admission: Option<evently_core::Admission>,
}

impl EventView {
    /// The event with its seats counted from its seat maps as of `now`
    /// (expired holds count as available): one small Query per section
    /// whatever the seat count, behind the seats by the stream's lag.
    pub async fn of(app: &App, event: &Event, now: DateTime<Utc>) -> Result<Self, ApiError> {
        let sections: Vec<&EventSection> = event.sections.iter().collect();
        let maps = seat_maps(app, event, &sections).await?;
        let available = sections
            .iter()
            .zip(&maps)
            .map(|(section, map)| available_in(section, map, now))
            .sum();
        Ok(Self::with_available(event, available))
    }

    /// The event with availability from its analytics counters: two small
    /// reads however many seats it has, behind the truth by the stream's
    /// lag (well under a second). For catalog pages, which show many
    /// events; falls back to counting when an event has no counters.
    pub async fn from_counters(
        app: &App,
        event: &Event,
        now: DateTime<Utc>,
    ) -> Result<Self, ApiError> {
        match app.store.event_counters(&event.id, now).await? {
            Some(c) => Ok(Self::with_available(event, c.available() as u32)),
            None => Self::of(app, event, now).await,
        }
    }

    fn with_available(event: &Event, available: u32) -> Self {
        let (min, max) = event.price_range();
        Self {
            id: event.id.clone(),
            name: event.name.clone(),
            description: event.description.clone(),
            starts_at: rfc3339(event.starts_at),
            ends_at: rfc3339(event.ends_at),
            status: event.status,
            currency: event.currency.clone(),
            venue: event.venue.clone(),
            price_range: PriceRange { min, max },
            total_seats: event.total_seats(),
            available_seats: available,
            sold_out: available == 0,
            cancellation_policy: event.cancellation_policy.clone(),
            admission: event.admission.clone(),
        }
    }
}

/// Runs the futures concurrently, first error wins.
pub async fn futures_join<T, E, F>(futs: impl IntoIterator<Item = F>) -> Result<Vec<T>, ApiError>
where
    F: std::future::Future<Output = Result<T, E>>,
    ApiError: From<E>,
{
    let results = futures::future::join_all(futs).await;
    results
        .into_iter()
        .map(|r| r.map_err(ApiError::from))
        .collect()
}

/// An event a customer may look at, or 404. Ids we could never have issued
/// are 404 without a read.
pub async fn public_event(app: &App, event_id: &str) -> Result<Event, ApiError> {
    let missing = || ApiError::NotFound(format!("no event `{event_id}`"));
    if !evently_core::ids::is_ulid(event_id) {
        return Err(missing());
    }
    match app.store.get_event(event_id).await? {
        Some(e) if e.visible_to_public() => Ok(e),
        _ => Err(missing()),
    }
}

/// A function's own copies of public events, read at most once per
/// `Config::event_cache_secs` per event: what a hold needs of an event
/// (sections, prices, dates) cannot change once it is published, so under
/// an on-sale rush the event item is read by each warm instance a few
/// times a minute instead of by every hold. Only the status can change
/// (cancellation) and a copy may miss that for the cache's lifetime: a
/// hold then succeeds on a just-cancelled event, and confirming it is
/// refused by the confirm transaction's own check of a sale-gate shard,
/// before any charge — the copy is never the authority on what may be sold. A
/// waiting room set on a published event (before its on-sale) likewise
/// takes up to the cache's lifetime to be required by every hold
/// (docs/operations.md: set it well ahead).
pub type EventCache = Cache<Event>;

/// Copies kept by one function (one process: a Lambda container), each for
/// as long as its reader allows.
pub struct Cache<T>(std::sync::Mutex<HashMap<String, (std::time::Instant, Arc<T>)>>);

impl<T> Default for Cache<T> {
    fn default() -> Self {
        Self(Default::default())
    }
}

/// Entries kept before a cache starts over.
const CACHE_ENTRIES: usize = 256;

impl<T> Cache<T> {
    fn get(&self, id: &str, max_age: std::time::Duration) -> Option<Arc<T>> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(id)
            .filter(|(at, _)| at.elapsed() < max_age)
            .map(|(_, e)| e.clone())
    }

    fn put(&self, id: &str, value: Arc<T>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= CACHE_ENTRIES {
            map.clear();
        }
        map.insert(id.to_owned(), (std::time::Instant::now(), value));
    }

    /// The copy of `id` if younger than `max_age`, else what `load` reads
    /// (kept unless `max_age` is zero: no copies at all).
    pub async fn get_or_load<E, F>(
        &self,
        id: &str,
        max_age: std::time::Duration,
        load: F,
    ) -> Result<Arc<T>, E>
    where
        F: std::future::Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.get(id, max_age) {
            return Ok(value);
        }
        let value = Arc::new(load.await?);
        if !max_age.is_zero() {
            self.put(id, value.clone());
        }
        Ok(value)
    }
}

/// `public_event`, answered from this function's copy when it is fresh
/// enough (see `EventCache`). For the hot path of an on-sale only; what
/// must see a cancellation at once reads the event.
pub async fn cached_public_event(app: &App, event_id: &str) -> Result<Arc<Event>, ApiError> {
    let max_age = std::time::Duration::from_secs(app.config.event_cache_secs.max(0) as u64);
    app.events
        .get_or_load(event_id, max_age, public_event(app, event_id))
        .await
}

/// The seat maps of `sections` of `event` (see `evently_store`'s
/// seat_maps.rs): one Query per section, at once.
pub async fn seat_maps(
    app: &App,
    event: &Event,
    sections: &[&EventSection],
) -> Result<Vec<SeatMap>, ApiError> {
    let ids: Vec<&str> = sections.iter().map(|s| s.id.as_str()).collect();
    Ok(app.store.seat_maps(&event.id, &ids).await?)
}

/// Seats of `section` a hold could take at `now`, by its seat map.
pub fn available_in(section: &EventSection, map: &SeatMap, now: DateTime<Utc>) -> u32 {
    let taken = map
        .values()
        .filter(|mark| status_of_mark(Some(**mark), now) != SeatStatus::Available)
        .count() as u32;
    section.capacity.saturating_sub(taken)
}

/// Every seat of `section` where the event's layout puts it (fixed once the
/// event is published), with its status from `map` as of `now`, in layout
/// order (row, then number).
pub fn section_seat_views(
    event: &Event,
    section: &EventSection,
    map: &SeatMap,
    now: DateTime<Utc>,
) -> Vec<SeatView> {
    let Some(grid) = event.layout.iter().find(|g| g.id == section.id) else {
        return Vec::new();
    };
    grid.seats()
        .into_iter()
        .map(|pos| {
            let id = pos.id.to_string();
            let status = status_of_mark(map.get(&id).copied(), now);
            SeatView {
                id,
                row: pos.row,
                number: pos.number,
                x: pos.x,
                y: pos.y,
                price: section.price,
                status: Some(status),
            }
        })
        .collect()
}

/// One seat on the map; `status` is left out where the answer lists only
/// available seats.
#[derive(Debug, Serialize)]
pub struct SeatView {
    pub id: String,
    pub row: u32,
    pub number: u32,
    pub x: u32,
    pub y: u32,
    pub price: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<evently_core::SeatStatus>,
}

#[derive(Debug, Serialize)]
pub struct HoldView {
    pub hold_id: String,
    pub event_id: String,
    pub section_id: String,
    pub seat_ids: Vec<evently_core::SeatId>,
    pub expires_at: String,
    pub total_price: Money,
}

impl From<&evently_core::Hold> for HoldView {
    fn from(h: &evently_core::Hold) -> Self {
        Self {
            hold_id: h.id.clone(),
            event_id: h.event_id.clone(),
            section_id: h.section_id.clone(),
            seat_ids: h.seat_ids.clone(),
            expires_at: rfc3339(h.expires_at),
            total_price: h.total_price,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct BookingView {
    pub id: String,
    pub event_id: String,
    pub section_id: String,
    pub seat_ids: Vec<evently_core::SeatId>,
    pub status: evently_core::BookingStatus,
    pub total_price: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancellation_fee: Option<Money>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<String>,
}

impl From<&evently_core::Booking> for BookingView {
    fn from(b: &evently_core::Booking) -> Self {
        Self {
            id: b.id.clone(),
            event_id: b.event_id.clone(),
            section_id: b.section_id.clone(),
            seat_ids: b.seat_ids.clone(),
            status: b.status,
            total_price: b.total_price,
            refund_amount: b.refund_amount,
            cancellation_fee: b.cancellation_fee,
            created_at: rfc3339(b.created_at),
            cancelled_at: b.cancelled_at.map(rfc3339),
        }
    }
}

/// The caller's own hold, or 404 (unknown) / 403 (someone else's).
pub async fn own_hold(
    app: &App,
    hold_id: &str,
    user_id: &str,
) -> Result<evently_core::Hold, ApiError> {
    let missing = || ApiError::NotFound(format!("no hold `{hold_id}`"));
    if !evently_core::ids::is_ulid(hold_id) {
        return Err(missing());
    }
    let hold = app.store.get_hold(hold_id).await?.ok_or_else(missing)?;
    if hold.user_id != user_id {
        return Err(ApiError::Forbidden(
            "this hold belongs to someone else".into(),
        ));
    }
    Ok(hold)
}

/// The caller's own booking; someone else's is 404, as if it did not exist.
pub async fn own_booking(
    app: &App,
    booking_id: &str,
    user_id: &str,
) -> Result<evently_core::Booking, ApiError> {
    let missing = || ApiError::NotFound(format!("no booking `{booking_id}`"));
    if !evently_core::ids::is_ulid(booking_id) {
        return Err(missing());
    }
    match app.store.get_booking(booking_id).await? {
        Some(b) if b.user_id == user_id => Ok(b),
        _ => Err(missing()),
    }
}

/// A waitlist offer as its user sees it (the claim link is relative to the
/// API's own address).
#[derive(Debug, Serialize)]
pub struct OfferView {
    pub hold_id: String,
    pub section_id: String,
    pub seat_ids: Vec<evently_core::SeatId>,
    pub total_price: Money,
    pub expires_at: String,
    pub claim_url: String,
}

impl From<&evently_core::Offer> for OfferView {
    fn from(o: &evently_core::Offer) -> Self {
        Self {
            hold_id: o.hold_id.clone(),
            section_id: o.section_id.clone(),
            seat_ids: o.seat_ids.clone(),
            total_price: o.total_price,
            expires_at: rfc3339(o.expires_at),
            claim_url: format!("/api/v1/waitlist/offers/{}", o.claim_token),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EntryView {
    pub id: String,
    pub event_id: String,
    pub quantity: u32,
    pub preferences: evently_core::Preferences,
    pub status: evently_core::EntryStatus,
    /// 1-based among entries still waiting; null once no longer waiting.
    pub position: Option<u32>,
    pub joined_at: String,
    /// The open offer of an `offered` entry: what to book and until when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer: Option<OfferView>,
}

impl EntryView {
    pub async fn of(app: &App, entry: &evently_core::WaitlistEntry) -> Result<Self, ApiError> {
        let position = match entry.status {
            evently_core::EntryStatus::Waiting => Some(app.store.waitlist_position(entry).await?),
            _ => None,
        };
        let offer = match (&entry.status, &entry.claim_token) {
            (evently_core::EntryStatus::Offered, Some(token)) => app
                .store
                .get_offer(token)
                .await?
                .filter(|o| {
                    o.status == evently_core::OfferStatus::Open && o.expires_at > app.clock.now()
                })
                .map(|o| OfferView::from(&o)),
            _ => None,
        };
        Ok(Self {
            id: entry.id.clone(),
            event_id: entry.event_id.clone(),
            quantity: entry.quantity,
            preferences: entry.preferences.clone(),
            status: entry.status,
            position,
            joined_at: rfc3339(entry.joined_at),
            offer,
        })
    }
}

/// The caller's latest entry on an event's waitlist, or 404.
pub async fn own_entry(
    app: &App,
    event_id: &str,
    user_id: &str,
) -> Result<evently_core::WaitlistEntry, ApiError> {
    let missing = || ApiError::NotFound("you are not on this event's waitlist".into());
    if !evently_core::ids::is_ulid(event_id) {
        return Err(missing());
    }
    app.store
        .user_entry(user_id, event_id)
        .await?
        .ok_or_else(missing)
}
