//! Tickets: one per booked seat, derived from the booking (no item of
//! their own: a ticket is the booking's seat, its state the booking's
//! status and the seat's first check-in). What a door scans is a code the
//! service signs (`evently_http::tickets`), naming the booking and the
//! seat's number in it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::SeatId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Valid,
    CheckedIn,
    /// Its booking was cancelled.
    Void,
}

/// Which ticket: the `number`th seat (from 1) of a booking.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TicketRef {
    pub booking_id: String,
    pub number: u32,
}

impl TicketRef {
    /// The ticket's id: `<booking id>-<number>`.
    pub fn id(&self) -> String {
        format!("{}-{}", self.booking_id, self.number)
    }

    /// A ticket id back into its parts; None when it is not one.
    pub fn parse(id: &str) -> Option<Self> {
        let (booking, number) = id.rsplit_once('-')?;
        let number: u32 = number.parse().ok()?;
        if !crate::ids::is_ulid(booking) || number == 0 || number > 99 {
            return None;
        }
        Some(Self {
            booking_id: booking.to_owned(),
            number,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub at: TicketRef,
    pub event_id: String,
    pub seat_id: SeatId,
    pub status: TicketStatus,
    pub checked_in_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_id_names_its_booking_and_seat_number() {
        let booking = crate::new_id();
        let at = TicketRef {
            booking_id: booking.clone(),
            number: 7,
        };
        assert_eq!(TicketRef::parse(&at.id()), Some(at));
        for bad in [
            String::new(),
            booking.clone(),
            format!("{booking}-0"),
            format!("{booking}-100"),
            format!("{booking}-x"),
            "nope-1".into(),
        ] {
            assert_eq!(TicketRef::parse(&bad), None, "{bad}");
        }
    }
}
