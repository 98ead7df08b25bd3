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
}

impl Event {
    pub fn total_seats(&self) -> u32 {
        self.sections.iter().map(|s| s.capacity).sum()
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
        self.cancellation_policy.validate()
    }
}
