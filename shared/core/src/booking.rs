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
