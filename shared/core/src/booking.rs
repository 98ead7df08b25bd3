//! Bookings: confirmed, paid seats; cancelled under the event's policy.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Money, SeatId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Confirmed,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    /// The id of the hold it was confirmed from: one hold, at most one
    /// booking, enforced by the key.
    pub id: String,
    pub user_id: String,
    pub event_id: String,
    pub section_id: String,
    pub seat_ids: Vec<SeatId>,
    pub status: BookingStatus,
    pub total_price: Money,
    pub payment_id: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_fee: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<DateTime<Utc>>,
    /// When each ticket was first scanned at the door, by its number (the
    /// seat's place in `seat_ids`, from 1: what a ticket code names, so a
    /// check-in writes without reading first). Always present on the item
    /// (an empty map), so a check-in can set one entry with a condition.
    #[serde(default)]
    pub checked_in: std::collections::BTreeMap<String, DateTime<Utc>>,
}

impl Booking {
    /// The booking a hold becomes once `payment_id` paid for it. It takes
    /// the hold's id: one hold, at most one booking.
    pub fn from_hold(hold: &crate::Hold, payment_id: &str, now: DateTime<Utc>) -> Self {
        Self {
            id: hold.id.clone(),
            user_id: hold.user_id.clone(),
            event_id: hold.event_id.clone(),
            section_id: hold.section_id.clone(),
            seat_ids: hold.seat_ids.clone(),
            status: BookingStatus::Confirmed,
            total_price: hold.total_price,
            payment_id: payment_id.to_owned(),
            created_at: now,
            refund_amount: None,
            cancellation_fee: None,
            cancelled_at: None,
            checked_in: Default::default(),
        }
    }

    /// Its tickets: one per seat, in the booking's seat order.
    pub fn tickets(&self) -> Vec<crate::Ticket> {
        self.seat_ids
            .iter()
            .enumerate()
            .map(|(i, seat)| {
                let checked_in_at = self.checked_in.get(&(i + 1).to_string()).copied();
                let status = match (self.status, checked_in_at) {
                    (BookingStatus::Cancelled, _) => crate::TicketStatus::Void,
                    (_, Some(_)) => crate::TicketStatus::CheckedIn,
                    (_, None) => crate::TicketStatus::Valid,
                };
                crate::Ticket {
                    at: crate::TicketRef {
                        booking_id: self.id.clone(),
                        number: i as u32 + 1,
                    },
                    event_id: self.event_id.clone(),
                    seat_id: seat.clone(),
                    status,
                    checked_in_at,
                }
            })
            .collect()
    }
}

/// Money owed back for a cancelled booking, recorded in the cancellation's
/// own transaction and removed once the provider has refunded it; until
/// then the sweeper retries it, so a failed refund is never forgotten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundDue {
    pub booking_id: String,
    pub user_id: String,
    pub payment_id: String,
    pub amount: Money,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl RefundDue {
    /// What a cancellation of `booking` owes back, first tried by the
    /// waitlist worker as soon as the stream brings the record, and from a
    /// minute on by the sweeper.
    pub fn owed(booking: &Booking, amount: crate::Money, now: DateTime<Utc>) -> Self {
        Self {
            booking_id: booking.id.clone(),
            user_id: booking.user_id.clone(),
            payment_id: booking.payment_id.clone(),
            amount,
            attempts: 0,
            next_attempt_at: now + chrono::Duration::seconds(60),
            last_error: None,
        }
    }

    /// The provider's idempotency key: the same for every attempt, so a
    /// retry after a lost answer never pays twice.
    pub fn key(&self) -> String {
        format!("refund-{}", self.booking_id)
    }
}
