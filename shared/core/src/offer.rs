//! Waitlist offers and the notifications that announce them. An offer is a
//! real hold for the matched user plus an unguessable claim token.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Money, SeatId};

/// On a hold that is an offer: which entry it serves and its claim token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferRef {
    pub entry_id: String,
    pub claim_token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    Open,
    /// Booked by its user.
    Taken,
    /// Not claimed in time.
    Expired,
    /// Taken back: the email could not be delivered, or the user left.
    Withdrawn,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub claim_token: String,
    pub hold_id: String,
    pub entry_id: String,
    pub user_id: String,
    pub event_id: String,
    pub section_id: String,
    pub seat_ids: Vec<SeatId>,
    pub total_price: Money,
    pub status: OfferStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationStatus {
    Pending,
    Sent,
    Failed,
    Bounced,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub subject: String,
    pub channel: String,
    pub status: NotificationStatus,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the next attempt is due while pending.
    pub next_attempt_at: DateTime<Utc>,
    /// The offer it announces (kind `offer`; empty otherwise).
    #[serde(default)]
    pub claim_token: String,
    /// The event it is about (kinds `event_cancelled`, `waitlist_closed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The booking it is about (kinds `event_cancelled`,
    /// `booking_confirmed`, `booking_cancelled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_id: Option<String>,
    /// The booking's tickets with their signed codes (kind
    /// `booking_confirmed`): signed where the key is (the confirming
    /// function), drawn as QR pictures where the email is composed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tickets: Vec<TicketCode>,
}

/// A ticket's seat and the code its QR picture holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketCode {
    pub seat_id: String,
    pub code: String,
}

impl Notification {
    /// A new email notification, pending, with its first attempt due at
    /// `first_attempt_at` (the writer sends at once; that time is when the
    /// sweeper may step in if the writer's attempt never finished).
    pub fn pending(
        id: String,
        user_id: &str,
        kind: &str,
        now: DateTime<Utc>,
        first_attempt_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            user_id: user_id.to_owned(),
            kind: kind.to_owned(),
            subject: String::new(),
            channel: "email".into(),
            status: NotificationStatus::Pending,
            attempts: 0,
            created_at: now,
            sent_at: None,
            last_error: None,
            next_attempt_at: first_attempt_at,
            claim_token: String::new(),
            event_id: None,
            booking_id: None,
            tickets: Vec::new(),
        }
    }

    /// The email about a booking (`booking_confirmed` or
    /// `booking_cancelled`), written with the booking's change; its id is
    /// the booking's, so a change written twice cannot email twice.
    pub fn about_booking(
        kind: &str,
        booking: &crate::Booking,
        now: DateTime<Utc>,
        first_attempt_at: DateTime<Utc>,
    ) -> Self {
        let mut note = Self::pending(
            format!("{kind}-{}", booking.id),
            &booking.user_id,
            kind,
            now,
            first_attempt_at,
        );
        note.event_id = Some(booking.event_id.clone());
        note.booking_id = Some(booking.id.clone());
        note
    }
}

/// Kinds of notification, each with its own email.
pub mod kind {
    /// A waitlist offer with its claim link.
    pub const OFFER: &str = "waitlist_offer";
    /// The event was cancelled; the booking is refunded in full.
    pub const EVENT_CANCELLED: &str = "event_cancelled";
    /// The event was cancelled while the user was on its waitlist.
    pub const WAITLIST_CLOSED: &str = "waitlist_closed";
    /// A booking was paid for: its tickets.
    pub const BOOKING_CONFIRMED: &str = "booking_confirmed";
    /// Its owner cancelled a booking: the refund.
    pub const BOOKING_CANCELLED: &str = "booking_cancelled";
    /// A password reset link (its token in `claim_token` until the email
    /// is sent or given up; never shown by the notifications route).
    pub const PASSWORD_RESET: &str = "password_reset";
    /// Kinds written by a request (confirm, cancel, a reset request) and
    /// handed to the waitlist worker by the table's stream for sending (the
    /// others are sent by the worker that writes them).
    pub const FROM_STREAM: [&str; 3] = [BOOKING_CONFIRMED, BOOKING_CANCELLED, PASSWORD_RESET];
}

/// Backoff before attempt `n + 1` after `n` failed attempts: 30 s, 60 s,
/// 120 s, … capped at 15 minutes.
pub fn retry_delay_secs(failed_attempts: u32) -> i64 {
    (30i64 << failed_attempts.saturating_sub(1).min(5)).min(900)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(
            (1..=7).map(retry_delay_secs).collect::<Vec<_>>(),
            [30, 60, 120, 240, 480, 900, 900]
        );
    }
}
