//! The waitlist: who waits for which seats, and who gets freed seats.
//!
//! Matching is FIFO with preferences: the earliest waiting entry whose
//! section, maximum price and quantity all fit the freed seats gets them; an
//! entry that wants more seats than are free keeps its place while later
//! entries that fit are served.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Invalid, Money, SeatId};

pub const MAX_WAITLIST_QUANTITY: u32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    Waiting,
    Offered,
    Booked,
    Expired,
    Left,
    /// The event was cancelled while the entry was in line.
    Closed,
}

impl EntryStatus {
    /// Waiting or holding an offer: the user is still in line.
    pub fn is_active(self) -> bool {
        matches!(self, EntryStatus::Waiting | EntryStatus::Offered)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_id: Option<String>,
    /// Most the user will pay per seat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitlistEntry {
    pub id: String,
    pub user_id: String,
    pub event_id: String,
    pub quantity: u32,
    pub preferences: Preferences,
    pub status: EntryStatus,
    pub joined_at: DateTime<Utc>,
    /// The claim token of the offer it holds or last held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_token: Option<String>,
}

impl WaitlistEntry {
    /// Whether `quantity` seats of `section_id` at `price` each suit this entry.
    pub fn fits(&self, section_id: &str, price: Money, available: usize) -> bool {
        self.status == EntryStatus::Waiting
            && self
                .preferences
                .section_id
                .as_deref()
                .is_none_or(|s| s == section_id)
            && self.preferences.max_price.is_none_or(|max| price <= max)
            && self.quantity as usize <= available
    }
}

pub fn validate_quantity(quantity: i64) -> Result<u32, Invalid> {
    if (1..=i64::from(MAX_WAITLIST_QUANTITY)).contains(&quantity) {
        Ok(quantity as u32)
    } else {
        Err(Invalid::new(
            "quantity",
            format!("wait for 1 to {MAX_WAITLIST_QUANTITY} seats"),
        ))
    }
}

/// Freed seats of one section at one price, to hand out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreedSeats {
    pub section_id: String,
    pub price: Money,
    /// In the order they should be handed out (row, then number).
    pub seats: Vec<SeatId>,
}

/// One entry's share of the freed seats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub entry_id: String,
    pub seats: Vec<SeatId>,
}

/// Hands freed seats to waiting entries (given in FIFO order). Returns the
/// assignments and the seats nobody matched, which go back to the public.
pub fn assign(entries: &[WaitlistEntry], freed: &FreedSeats) -> (Vec<Assignment>, Vec<SeatId>) {
    let mut left: Vec<SeatId> = freed.seats.clone();
    let mut out = Vec::new();
    for entry in entries {
        if left.is_empty() {
            break;
        }
        if entry.fits(&freed.section_id, freed.price, left.len()) {
            let rest = left.split_off(entry.quantity as usize);
            out.push(Assignment {
                entry_id: entry.id.clone(),
                seats: std::mem::replace(&mut left, rest),
            });
        }
    }
    (out, left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(id: &str, quantity: u32, section: Option<&str>, max: Option<i64>) -> WaitlistEntry {
        WaitlistEntry {
            id: id.into(),
            user_id: format!("u-{id}"),
            event_id: "e".into(),
            quantity,
            preferences: Preferences {
                section_id: section.map(Into::into),
                max_price: max.map(Money::from_cents),
            },
            status: EntryStatus::Waiting,
            joined_at: "2030-01-01T00:00:00Z".parse().expect("time"),
            claim_token: None,
        }
    }

    fn freed(n: u32, price: i64) -> FreedSeats {
        FreedSeats {
            section_id: "A".into(),
            price: Money::from_cents(price),
            seats: (1..=n).map(|i| SeatId::new("A", 1, i)).collect(),
        }
    }

    #[test]
    fn the_first_that_fits_wins_and_a_larger_request_keeps_its_place() {
        let entries = [
            entry("wants2", 2, Some("A"), None),
            entry("wants1", 1, None, None),
        ];
        let (given, rest) = assign(&entries, &freed(1, 12_000));
        assert_eq!(
            given,
            vec![Assignment {
                entry_id: "wants1".into(),
                seats: vec![SeatId::new("A", 1, 1)]
            }]
        );
        assert!(rest.is_empty());
    }

    #[test]
    fn section_and_price_preferences_exclude() {
        let entries = [
            entry("other-section", 1, Some("B"), None),
            entry("too-dear", 1, None, Some(11_999)),
            entry("fits", 2, Some("A"), Some(15_000)),
        ];
        let (given, rest) = assign(&entries, &freed(3, 12_000));
        assert_eq!(given.len(), 1);
        assert_eq!(given[0].entry_id, "fits");
        assert_eq!(
            rest,
            vec![SeatId::new("A", 1, 3)],
            "unmatched seats go back to the public"
        );
    }

    proptest! {
        #[test]
        fn never_more_seats_than_freed_never_a_misfit_never_skipping_a_fitting_earlier_entry(
            wants in proptest::collection::vec((1u32..5, proptest::bool::ANY, proptest::option::of(0i64..300)), 0..12),
            n in 0u32..12,
            price in 0i64..300,
        ) {
            let entries: Vec<WaitlistEntry> = wants.iter().enumerate().map(|(i, (q, any_section, max))| {
                entry(&i.to_string(), *q, if *any_section { None } else { Some("A") }, *max)
            }).collect();
            let freed = freed(n, price);
            let (given, rest) = assign(&entries, &freed);
            let handed: usize = given.iter().map(|a| a.seats.len()).sum();
            prop_assert_eq!(handed + rest.len(), n as usize);
            let mut remaining = n as usize;
            let mut next = given.iter().peekable();
            for e in &entries {
                let fits = e.fits("A", freed.price, remaining);
                match next.peek() {
                    Some(a) if a.entry_id == e.id => {
                        prop_assert!(fits);
                        prop_assert_eq!(a.seats.len(), e.quantity as usize);
                        remaining -= a.seats.len();
                        next.next();
                    }
                    _ => prop_assert!(!fits || remaining == 0, "entry {} fit but was skipped", e.id),
                }
            }
        }
    }
}
