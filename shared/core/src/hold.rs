//! Holds: a user's claim on 1–10 seats of one section for a few minutes,
//! and the checks a hold request must pass before it touches the store.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Event, Invalid, Money, SeatId};

pub const MAX_SEATS_PER_HOLD: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldStatus {
    Active,
    Released,
    Confirmed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub id: String,
    pub user_id: String,
    pub event_id: String,
    pub section_id: String,
    pub seat_ids: Vec<SeatId>,
    pub total_price: Money,
    pub status: HoldStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Set when the hold is a waitlist offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<crate::OfferRef>,
}

impl Hold {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.status == HoldStatus::Active && self.expires_at > now
    }
}

/// Checks the seats asked for against the event: 1–10, no duplicates, all
/// of the named section. Returns them sorted (so transactions touch seats in
/// a stable order).
pub fn validate_seats(
    event: &Event,
    section_id: &str,
    seat_ids: &[String],
) -> Result<Vec<SeatId>, HoldRefused> {
    if event.section(section_id).is_none() {
        return Err(HoldRefused::UnknownSection(section_id.to_owned()));
    }
    if seat_ids.is_empty() || seat_ids.len() > MAX_SEATS_PER_HOLD {
        return Err(HoldRefused::Invalid(Invalid::new(
            "seat_ids",
            format!("hold 1 to {MAX_SEATS_PER_HOLD} seats at a time"),
        )));
    }
    let mut seen = BTreeSet::new();
    for raw in seat_ids {
        let id: SeatId = raw.parse().map_err(HoldRefused::Invalid)?;
        if id.section != section_id {
            return Err(HoldRefused::Invalid(Invalid::new(
                "seat_ids",
                format!("seat {raw} is not in section {section_id}"),
            )));
        }
        if !seen.insert(id) {
            return Err(HoldRefused::Invalid(Invalid::new(
                "seat_ids",
                format!("seat {raw} is listed twice"),
            )));
        }
    }
    Ok(seen.into_iter().collect())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoldRefused {
    #[error("event has no section `{0}`")]
    UnknownSection(String),
    #[error(transparent)]
    Invalid(Invalid),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CancellationPolicy, EventSection, EventStatus, Seating, VenueRef};

    fn event() -> Event {
        let t: DateTime<Utc> = "2030-01-01T20:00:00Z".parse().expect("time");
        Event {
            id: "e".into(),
            owner_id: "o".into(),
            name: "Show".into(),
            description: String::new(),
            starts_at: t,
            ends_at: t + chrono::Duration::hours(2),
            status: EventStatus::Published,
            currency: "USD".into(),
            venue: VenueRef {
                id: "v".into(),
                name: "V".into(),
                city: "C".into(),
            },
            sections: vec![EventSection {
                id: "A".into(),
                name: "A".into(),
                price: Money::from_cents(100),
                capacity: 20,
            }],
            cancellation_policy: CancellationPolicy::free_until_start(),
            created_at: t,
            seating: Seating::Ready,
            cancelled_at: None,
            cancel_runs: 0,
            seating_runs: 0,
            admission: None,
            layout: Vec::new(),
        }
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn seats_must_be_one_to_ten_distinct_seats_of_the_section() {
        let e = event();
        assert_eq!(
            validate_seats(&e, "A", &ids(&["A-1-2", "A-1-1"])).map(|v| v.len()),
            Ok(2)
        );
        assert!(matches!(
            validate_seats(&e, "B", &ids(&["B-1-1"])),
            Err(HoldRefused::UnknownSection(_))
        ));
        for bad in [
            vec![],
            ids(&["A-1-1", "A-1-1"]),
            ids(&["B-1-1"]),
            ids(&["garbage"]),
        ] {
            assert!(
                matches!(validate_seats(&e, "A", &bad), Err(HoldRefused::Invalid(_))),
                "{bad:?}"
            );
        }
        let eleven: Vec<String> = (1..=11).map(|n| format!("A-1-{n}")).collect();
        assert!(validate_seats(&e, "A", &eleven).is_err());
    }
}
