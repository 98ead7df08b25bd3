//! Seat state within an event, and what the public sees of it "as of now".

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Money, SeatId};

/// The stored state of one seat of one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SeatState {
    Available,
    Held {
        hold_id: String,
        holder_id: String,
        /// Unix seconds; a hold past this is free even before anything
        /// deletes it (DynamoDB TTL may lag by days).
        hold_expires_at: i64,
    },
    Booked {
        booking_id: String,
    },
    /// Freed by a cancellation while people wait: only the waitlist worker
    /// may hand it on (as an offer) or release it to the public.
    Reserved,
}

/// What a customer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatStatus {
    Available,
    Held,
    Booked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    pub id: SeatId,
    pub row: u32,
    pub number: u32,
    pub x: u32,
    pub y: u32,
    pub price: Money,
    pub state: SeatState,
}

impl SeatState {
    pub fn status_at(&self, now: DateTime<Utc>) -> SeatStatus {
        match self {
            SeatState::Available => SeatStatus::Available,
            SeatState::Held {
                hold_expires_at, ..
            } if *hold_expires_at <= now.timestamp() => SeatStatus::Available,
            SeatState::Held { .. } => SeatStatus::Held,
            SeatState::Booked { .. } => SeatStatus::Booked,
            // The public cannot take it, which is what "held" tells them.
            SeatState::Reserved => SeatStatus::Held,
        }
    }
}

/// A seat as the event's seat map keeps it (see `SeatMap`): nothing for a
/// seat anyone may take, otherwise one number — the hold's expiry (unix
/// seconds) for a held seat, 0 for a booked one, -1 for one reserved for
/// the waitlist.
pub type SeatMark = i64;

impl SeatState {
    /// This state as a seat-map mark; None when the seat is free.
    pub fn mark(&self) -> Option<SeatMark> {
        match self {
            SeatState::Available => None,
            SeatState::Held {
                hold_expires_at, ..
            } => Some((*hold_expires_at).max(1)),
            SeatState::Booked { .. } => Some(0),
            SeatState::Reserved => Some(-1),
        }
    }
}

/// What the public sees of a seat whose seat-map mark is `mark` at `now`
/// (the same answer `SeatState::status_at` gives for the seat itself).
pub fn status_of_mark(mark: Option<SeatMark>, now: DateTime<Utc>) -> SeatStatus {
    match mark {
        None => SeatStatus::Available,
        Some(0) => SeatStatus::Booked,
        Some(m) if m < 0 => SeatStatus::Held,
        Some(until) if until <= now.timestamp() => SeatStatus::Available,
        Some(_) => SeatStatus::Held,
    }
}

/// One section's seat map: the marks of the seats that are not simply free
/// (seat id → mark). Kept from the table's stream, so it may trail the
/// seats by a moment: what the map says is advice for drawing it, never
/// the authority on what may be held (the seat's own conditional write).
pub type SeatMap = std::collections::HashMap<String, SeatMark>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_hold_shows_available() {
        let now: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().expect("valid");
        let held = |at: i64| SeatState::Held {
            hold_id: "h".into(),
            holder_id: "u".into(),
            hold_expires_at: at,
        };
        assert_eq!(held(now.timestamp() + 1).status_at(now), SeatStatus::Held);
        assert_eq!(held(now.timestamp()).status_at(now), SeatStatus::Available);
        assert_eq!(
            SeatState::Booked {
                booking_id: "b".into()
            }
            .status_at(now),
            SeatStatus::Booked
        );
    }

    #[test]
    fn a_seat_map_mark_shows_what_the_seat_shows() {
        let now: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().expect("valid");
        let states = [
            SeatState::Available,
            SeatState::Held {
                hold_id: "h".into(),
                holder_id: "u".into(),
                hold_expires_at: now.timestamp() + 60,
            },
            SeatState::Held {
                hold_id: "h".into(),
                holder_id: "u".into(),
                hold_expires_at: now.timestamp(),
            },
            SeatState::Booked {
                booking_id: "b".into(),
            },
            SeatState::Reserved,
        ];
        for state in states {
            assert_eq!(
                status_of_mark(state.mark(), now),
                state.status_at(now),
                "{state:?}"
            );
        }
    }
}
