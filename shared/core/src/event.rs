//! Events: a venue template instantiated at a time, with per-section prices,
//! a cancellation policy and a lifecycle (draft → published → cancelled).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{CancellationPolicy, Invalid, Money};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    Draft,
    Published,
    Cancelled,
}

/// Whether every seat of the event exists as an item. Creation writes the
/// event first (`materialising`), then its seats in batches, then flips it
/// to `ready`; publishing requires `ready`, so a half-written event is never
/// on sale, and any later edit of the draft finishes the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Seating {
    Materialising,
    #[default]
    Ready,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueRef {
    pub id: String,
    pub name: String,
    pub city: String,
}

/// A section as the event sells it: the template's grid at this event's price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSection {
    pub id: String,
    pub name: String,
    pub price: Money,
    pub capacity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub description: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: EventStatus,
    pub currency: String,
    pub venue: VenueRef,
    pub sections: Vec<EventSection>,
    pub cancellation_policy: CancellationPolicy,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub seating: Seating,
    /// Set when the organizer cancels; each request (a rerun included)
    /// bumps `cancel_runs`, which the stream turns into a cancellation job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub cancel_runs: u32,
    /// Bumped to ask for another run of the seating job (see
    /// evently_store's seating.rs): the stream turns each bump into a
    /// message for the worker.
    #[serde(default)]
    pub seating_runs: u32,
    /// The seat grids the event was created with, copied from its venue
    /// template: seats are (re)materialised from this, never from the
    /// template, which may have been edited since.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layout: Vec<crate::SectionTemplate>,
    /// The waiting room in front of its on-sale, if the organizer set one
    /// (see queue.rs): holds then need an admission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission: Option<crate::Admission>,
}

impl Event {
    pub fn total_seats(&self) -> u32 {
        self.sections.iter().map(|s| s.capacity).sum()
    }

    /// The row numbers of a section (1..=rows of its grid; none for a
    /// section the event has no layout for).
    pub fn rows_of(&self, section_id: &str) -> std::ops::RangeInclusive<u32> {
        let rows = self
            .layout
            .iter()
            .find(|s| s.id == section_id)
            .map_or(0, |s| s.rows);
        1..=rows
    }

    pub fn section(&self, id: &str) -> Option<&EventSection> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// Cheapest and dearest section price (zero for an event without sections).
    pub fn price_range(&self) -> (Money, Money) {
        let prices = self.sections.iter().map(|s| s.price);
        let min = prices.clone().min().unwrap_or(Money::ZERO);
        let max = prices.max().unwrap_or(Money::ZERO);
        (min, max)
    }

    /// Customers see published events, and cancelled ones they may hold
    /// bookings for; drafts are the organizer's business.
    pub fn visible_to_public(&self) -> bool {
        self.status != EventStatus::Draft
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            return Err(Invalid::new("name", "1 to 200 characters"));
        }
        if self.description.chars().count() > 5_000 {
            return Err(Invalid::new("description", "at most 5000 characters"));
        }
        if self.ends_at <= self.starts_at {
            return Err(Invalid::new("ends_at", "must be after starts_at"));
        }
        if let Some(admission) = &self.admission {
            admission.validate(self.starts_at)?;
        }
        self.cancellation_policy.validate()
    }
}
