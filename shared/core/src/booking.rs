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
        }
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
