//! What organizers send: venue templates and events, checked before anything
//! is written. Every rule that can refuse an input lives here, so the
//! handlers only parse, call and store.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::event::{EventSection, Seating};
use crate::venue::SEAT_PITCH;
use crate::{
    CancellationPolicy, Event, EventStatus, Invalid, Money, SeatId, SectionTemplate, VenueRef,
    VenueTemplate,
};

/// Currencies the simulator and the email templates know how to show.
pub const CURRENCIES: [&str; 3] = ["USD", "EUR", "GBP"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionInput {
    pub id: String,
    pub name: String,
    pub rows: u32,
    pub seats_per_row: u32,
    pub default_price: Money,
    /// Where the section sits on the map; sections without one are stacked
    /// below each other.
    #[serde(default)]
    pub origin_x: Option<u32>,
    #[serde(default)]
    pub origin_y: Option<u32>,
    #[serde(default)]
    pub gaps: Vec<SeatId>,
}

/// POST /admin/venues, and the full replacement a PATCH of a venue sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueInput {
    pub name: String,
    pub city: String,
    pub sections: Vec<SectionInput>,
}

impl VenueInput {
    /// The template this input describes, validated (grid caps, prices,
    /// unique section ids, at most `MAX_VENUE_SEATS` seats).
    pub fn into_template(
        self,
        id: String,
        owner_id: String,
        created_at: String,
    ) -> Result<VenueTemplate, Invalid> {
        let mut next_y = 0u32;
        let mut sections = Vec::with_capacity(self.sections.len());
        for s in self.sections {
            s.default_price.check_price("sections.default_price")?;
            let origin_y = s.origin_y.unwrap_or(next_y);
            let section = SectionTemplate {
                id: s.id,
                name: s.name.trim().to_owned(),
                rows: s.rows,
                seats_per_row: s.seats_per_row,
                default_price: s.default_price,
                origin_x: s.origin_x.unwrap_or(0),
                origin_y,
                gaps: s.gaps,
            };
            // Validate before using the grid size, so absurd sizes cannot
            // overflow the layout arithmetic below.
            section.validate()?;
            next_y = next_y.max(origin_y + (section.rows + 2) * SEAT_PITCH);
            sections.push(section);
        }
        let venue = VenueTemplate {
            id,
            owner_id,
            name: self.name.trim().to_owned(),
            city: self.city.trim().to_owned(),
            sections,
            created_at,
        };
        venue.validate()?;
        Ok(venue)
    }
}

/// POST /admin/events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub venue_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Per-section prices; a section left out sells at the template's
    /// default price.
    #[serde(default)]
    pub section_prices: BTreeMap<String, Money>,
    #[serde(default = "CancellationPolicy::free_until_start")]
    pub cancellation_policy: CancellationPolicy,
    #[serde(default = "default_currency")]
    pub currency: String,
    /// A waiting room in front of the on-sale (see queue.rs).
    #[serde(default)]
    pub admission: Option<crate::Admission>,
}

fn default_currency() -> String {
    "USD".into()
}

/// The sections an event sells: the template's grids at this event's prices.
pub fn price_sections(
    venue: &VenueTemplate,
    prices: &BTreeMap<String, Money>,
) -> Result<Vec<EventSection>, Invalid> {
    if let Some(unknown) = prices.keys().find(|id| venue.section(id).is_none()) {
        return Err(Invalid::new(
            "section_prices",
            format!("venue `{}` has no section `{unknown}`", venue.id),
        ));
    }
    venue
        .sections
        .iter()
        .map(|s| {
            let price = prices
                .get(&s.id)
                .copied()
                .unwrap_or(s.default_price)
                .check_price("section_prices")?;
            Ok(EventSection {
                id: s.id.clone(),
                name: s.name.clone(),
                price,
                capacity: s.capacity(),
            })
        })
        .collect()
}

/// Rules about time every event must keep when created or edited: it starts
/// in the future, and its cancellation deadline has not already passed.
pub fn check_schedule(event: &Event, now: DateTime<Utc>) -> Result<(), Invalid> {
    if event.starts_at <= now {
        return Err(Invalid::new("starts_at", "must be in the future"));
    }
    let policy = &event.cancellation_policy;
    if policy.allowed && policy.deadline(event.starts_at) <= now {
        return Err(Invalid::new(
            "cancellation_policy.deadline_hours",
            "the cancellation deadline would already be in the past",
        ));
    }
    Ok(())
}

impl EventInput {
    /// A draft event from a venue template; the venue is copied in, so
    /// editing the template later never changes this event.
    pub fn into_event(
        self,
        id: String,
        owner_id: String,
        venue: &VenueTemplate,
        now: DateTime<Utc>,
    ) -> Result<Event, Invalid> {
        if !CURRENCIES.contains(&self.currency.as_str()) {
            return Err(Invalid::new(
                "currency",
                format!("one of {}", CURRENCIES.join(", ")),
            ));
        }
        let event = Event {
            id,
            owner_id,
            name: self.name.trim().to_owned(),
            description: self.description.trim().to_owned(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            status: EventStatus::Draft,
            currency: self.currency,
            venue: VenueRef {
                id: venue.id.clone(),
                name: venue.name.clone(),
                city: venue.city.clone(),
            },
            sections: price_sections(venue, &self.section_prices)?,
            cancellation_policy: self.cancellation_policy,
            created_at: now,
            seating: Seating::Materialising,
            cancelled_at: None,
            cancel_runs: 0,
            seating_runs: 0,
            layout: venue.sections.clone(),
            admission: self.admission,
        };
        event.validate()?;
        check_schedule(&event, now)?;
        Ok(event)
    }
}

/// PATCH /admin/events/{id}: any subset of the editable fields, and/or a
/// status change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub section_prices: Option<BTreeMap<String, Money>>,
    pub cancellation_policy: Option<CancellationPolicy>,
    pub status: Option<EventStatus>,
    /// `null` removes the waiting room; absent leaves it as it is.
    #[serde(default, deserialize_with = "present")]
    pub admission: Option<Option<crate::Admission>>,
}

/// A field that may be sent as `null`: present (`Some`) either way.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// What a patch asks the store to do after the edits are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Edits only (or nothing): the event keeps its status.
    Keep,
    Publish,
    Cancel,
}

impl EventPatch {
    /// Edits that change what was sold or its terms: allowed on drafts only.
    fn touches_sale_terms(&self) -> bool {
        self.starts_at.is_some()
            || self.ends_at.is_some()
            || self.section_prices.is_some()
            || self.cancellation_policy.is_some()
    }

    /// Applies the patch to `event` (a copy the caller then stores). Drafts
    /// take any edit; a published event only its name and description (its
    /// seating, dates and policy are what people bought); a cancelled event
    /// nothing but a repeated cancel, which reruns the cancellation job.
    pub fn apply(self, event: &mut Event, now: DateTime<Utc>) -> Result<Transition, PatchRefused> {
        let transition = match (event.status, self.status) {
            (_, None) => Transition::Keep,
            (EventStatus::Draft, Some(EventStatus::Draft)) => Transition::Keep,
            (EventStatus::Draft, Some(EventStatus::Published)) => Transition::Publish,
            (EventStatus::Published, Some(EventStatus::Published)) => Transition::Keep,
            (_, Some(EventStatus::Cancelled)) => Transition::Cancel,
            (from, Some(to)) => {
                return Err(PatchRefused::Conflict(format!(
                    "a {} event cannot become {}",
                    status_name(from),
                    status_name(to)
                )))
            }
        };
        let edits = self.name.is_some()
            || self.description.is_some()
            || self.admission.is_some()
            || self.touches_sale_terms();
        match event.status {
            EventStatus::Cancelled if edits => {
                return Err(PatchRefused::Conflict(
                    "a cancelled event cannot be edited".into(),
                ))
            }
            EventStatus::Published if self.touches_sale_terms() => {
                return Err(PatchRefused::Conflict(
                    "a published event's seating, prices, dates and cancellation policy are what \
                     people bought; only name and description can change"
                        .into(),
                ))
            }
            _ => {}
        }
        if let Some(admission) = self.admission {
            if event.status == EventStatus::Published {
                admission_change_allowed(event.admission.as_ref(), admission.as_ref(), now)?;
            }
            event.admission = admission;
        }
        if let Some(name) = self.name {
            event.name = name.trim().to_owned();
        }
        if let Some(description) = self.description {
            event.description = description.trim().to_owned();
        }
        if let Some(starts_at) = self.starts_at {
            event.starts_at = starts_at;
        }
        if let Some(ends_at) = self.ends_at {
            event.ends_at = ends_at;
        }
        if let Some(policy) = self.cancellation_policy {
            event.cancellation_policy = policy;
        }
        if let Some(prices) = self.section_prices {
            // Prices change per section; the grid stays the one the event
            // was created with (editing the template never reaches events).
            if let Some(unknown) = prices.keys().find(|id| event.section(id).is_none()) {
                return Err(PatchRefused::Invalid(Invalid::new(
                    "section_prices",
                    format!("this event has no section `{unknown}`"),
                )));
            }
            for section in &mut event.sections {
                if let Some(p) = prices.get(&section.id) {
                    section.price = p
                        .check_price("section_prices")
                        .map_err(PatchRefused::Invalid)?;
                }
            }
            event.seating = Seating::Materialising;
        }
        event.validate().map_err(PatchRefused::Invalid)?;
        if event.status == EventStatus::Draft {
            check_schedule(event, now).map_err(PatchRefused::Invalid)?;
        }
        Ok(transition)
    }
}

/// On a published event the waiting room may be set or changed only before
/// its on-sale (people already in line or admitted keep their terms), and
/// a new one must open in the future; removing it is always allowed (holds
/// then need no admission).
fn admission_change_allowed(
    current: Option<&crate::Admission>,
    wanted: Option<&crate::Admission>,
    now: DateTime<Utc>,
) -> Result<(), PatchRefused> {
    let Some(wanted) = wanted else { return Ok(()) };
    if current.is_some_and(|c| c.on_sale_at <= now) {
        return Err(PatchRefused::Conflict(
            "the on-sale behind this waiting room has begun; it can be removed, not changed".into(),
        ));
    }
    if wanted.on_sale_at <= now {
        return Err(PatchRefused::Invalid(Invalid::new(
            "admission.on_sale_at",
            "on a published event, must be in the future",
        )));
    }
    Ok(())
}

fn status_name(s: EventStatus) -> &'static str {
    match s {
        EventStatus::Draft => "draft",
        EventStatus::Published => "published",
        EventStatus::Cancelled => "cancelled",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchRefused {
    #[error(transparent)]
    Invalid(Invalid),
    #[error("{0}")]
    Conflict(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn venue() -> VenueTemplate {
        let input: VenueInput = serde_json::from_value(serde_json::json!({
            "name": "Hall", "city": "Oslo",
            "sections": [
                {"id": "A", "name": "Stalls", "rows": 2, "seats_per_row": 3, "default_price": "40.00"},
                {"id": "B", "name": "Balcony", "rows": 1, "seats_per_row": 2, "default_price": "25.50",
                 "gaps": ["B-1-2"]}
            ]
        }))
        .expect("input");
        input
            .into_template("V".into(), "O".into(), "now".into())
            .expect("valid")
    }

    fn now() -> DateTime<Utc> {
        "2026-11-25T12:00:00Z".parse().expect("time")
    }

    fn event_input(prices: serde_json::Value) -> EventInput {
        serde_json::from_value(serde_json::json!({
            "venue_id": "V", "name": "Gig",
            "starts_at": "2026-12-25T20:00:00Z", "ends_at": "2026-12-25T23:00:00Z",
            "section_prices": prices,
            "cancellation_policy": {"allowed": true, "deadline_hours": 48, "fee_type": "percentage", "fee_value": "10.00"}
        }))
        .expect("input")
    }

    #[test]
    fn sections_without_origin_are_stacked_and_gaps_reduce_capacity() {
        let v = venue();
        assert_eq!(v.sections[0].origin_y, 0);
        assert_eq!(v.sections[1].origin_y, 4 * SEAT_PITCH);
        assert_eq!(v.capacity(), 7);
    }

    #[test]
    fn an_event_copies_the_venue_and_prices_sections() {
        let e = event_input(serde_json::json!({"A": "99.99"}))
            .into_event("E".into(), "O".into(), &venue(), now())
            .expect("valid");
        assert_eq!(e.status, EventStatus::Draft);
        assert_eq!(e.seating, Seating::Materialising);
        assert_eq!(e.total_seats(), 7);
        assert_eq!(
            e.section("A").map(|s| s.price.to_string()),
            Some("99.99".into())
        );
        assert_eq!(
            e.section("B").map(|s| s.price.to_string()),
            Some("25.50".into())
        );
        assert_eq!(e.venue.name, "Hall");
    }

    #[test]
    fn bad_events_are_refused() {
        let v = venue();
        let unknown = event_input(serde_json::json!({"Z": "10.00"}));
        assert!(unknown
            .into_event("E".into(), "O".into(), &v, now())
            .is_err());
        // Deadline 48 h before a start 24 h away: already past.
        let mut soon = event_input(serde_json::json!({}));
        soon.starts_at = now() + Duration::hours(24);
        soon.ends_at = now() + Duration::hours(26);
        assert_eq!(
            soon.into_event("E".into(), "O".into(), &v, now())
                .map_err(|e| e.field),
            Err("cancellation_policy.deadline_hours")
        );
        let past = {
            let mut p = event_input(serde_json::json!({}));
            p.starts_at = now() - Duration::hours(1);
            p
        };
        assert!(past.into_event("E".into(), "O".into(), &v, now()).is_err());
        // Negative prices and three decimals never parse into Money.
        for bad in ["-1.00", "1.001"] {
            let r: Result<EventInput, _> = serde_json::from_value(serde_json::json!({
                "venue_id": "V", "name": "Gig", "starts_at": "2026-12-25T20:00:00Z",
                "ends_at": "2026-12-25T23:00:00Z", "section_prices": {"A": bad}
            }));
            match r {
                Err(_) => {}
                Ok(input) => assert!(
                    input.into_event("E".into(), "O".into(), &v, now()).is_err(),
                    "{bad}"
                ),
            }
        }
    }

    #[test]
    fn published_events_keep_their_sale_terms() {
        let mut e = event_input(serde_json::json!({}))
            .into_event("E".into(), "O".into(), &venue(), now())
            .expect("valid");
        e.status = EventStatus::Published;
        let reprice = EventPatch {
            section_prices: Some(BTreeMap::from([("A".into(), Money::from_cents(1))])),
            ..Default::default()
        };
        assert!(matches!(
            reprice.apply(&mut e.clone(), now()),
            Err(PatchRefused::Conflict(_))
        ));
        let rename = EventPatch {
            name: Some("New name".into()),
            ..Default::default()
        };
        assert_eq!(rename.apply(&mut e, now()), Ok(Transition::Keep));
        assert_eq!(e.name, "New name");
        let back = EventPatch {
            status: Some(EventStatus::Draft),
            ..Default::default()
        };
        assert!(back.apply(&mut e, now()).is_err());
    }

    #[test]
    fn repricing_a_draft_needs_its_seats_rewritten() {
        let mut e = event_input(serde_json::json!({}))
            .into_event("E".into(), "O".into(), &venue(), now())
            .expect("valid");
        e.seating = Seating::Ready;
        let patch = EventPatch {
            section_prices: Some(BTreeMap::from([("B".into(), Money::from_cents(1_000))])),
            status: Some(EventStatus::Published),
            ..Default::default()
        };
        assert_eq!(patch.apply(&mut e, now()), Ok(Transition::Publish));
        assert_eq!(e.seating, Seating::Materialising);
        assert_eq!(
            e.section("B").map(|s| s.price),
            Some(Money::from_cents(1_000))
        );
    }
}
