//! An organizer's cancellation of an event, run as a job from the waitlist
//! queue: the PATCH marks the event `cancelled`, the table's stream turns
//! that into an `EventCancelled` message, and the worker calls
//! `cancel_event`. Every step is a conditional write that records its own
//! email, so a run that dies midway is finished by the next (SQS
//! redelivery, or the organizer repeating the PATCH): nothing is refunded,
//! cancelled or announced twice, and nothing is skipped.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use evently_core::offer::kind;
use evently_core::{
    BookingStatus, EntryStatus, EventStatus, Money, Notification, NotificationStatus, OfferStatus,
    RefundDue, SeatState, WaitlistEntry,
};
use serde::{Deserialize, Serialize};

use crate::{Engine, EngineError};

/// The queue message asking for (another run of) an event's cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventCancelled {
    pub event_cancelled: String,
    /// The event's `cancel_runs` when the message was made (for the logs).
    pub run: u32,
}

/// What one run did (a rerun of a finished job reports zeros).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct CancelReport {
    /// False when the run stopped at its time budget and asked for another.
    pub finished: bool,
    pub bookings_cancelled: usize,
    pub refunded: Money,
    pub entries_closed: usize,
    pub emails_sent: usize,
}

fn note(
    kind: &str,
    id: String,
    user_id: &str,
    event_id: &str,
    booking_id: Option<String>,
    now: DateTime<Utc>,
    lease_secs: i64,
) -> Notification {
    // Sent right after it is written; the sweeper only steps in if that
    // attempt never finished.
    let mut n = Notification::pending(id, user_id, kind, now, now + Duration::seconds(lease_secs));
    n.event_id = Some(event_id.to_owned());
    n.booking_id = booking_id;
    n
}

/// Bookings (and entries) handled at once within a run.
const CONCURRENCY: usize = 8;

impl Engine {
    /// Cancels every confirmed booking of a cancelled event with a full
    /// refund, closes its waitlist (withdrawing open offers), and emails
    /// everyone concerned. Idempotent: safe to run any number of times.
    /// A run that reaches `stop_at` (its share of the invocation's time)
    /// stops between steps and asks for another run (bumping the event's
    /// `cancel_runs`, which the stream turns into a new message), so no run
    /// outlives the worker's timeout however large the event.
    pub async fn cancel_event(
        &self,
        event_id: &str,
        stop_at: tokio::time::Instant,
    ) -> Result<CancelReport, EngineError> {
        let event = self
            .store
            .get_event(event_id)
            .await?
            .ok_or_else(|| EngineError::Missing(format!("event {event_id}")))?;
        let mut report = CancelReport::default();
        if event.status != EventStatus::Cancelled {
            return Ok(report);
        }
        let out_of_time = || tokio::time::Instant::now() >= stop_at;
        let now = self.clock.now();

        // Bookings are found from their seats (strongly consistent reads),
        // so one confirmed a moment before the cancellation is not missed
        // the way an eventually consistent index could miss it.
        let mut booking_ids = BTreeSet::new();
        for section in &event.sections {
            for seat in self.store.section_seats(&event, &section.id).await? {
                if let SeatState::Booked { booking_id } = seat.state {
                    booking_ids.insert(booking_id);
                }
            }
        }
        let booking_ids: Vec<String> = booking_ids.into_iter().collect();
        // The budget is checked before each step but the first, so every
        // run makes progress and the last step never asks for another run.
        let mut worked = false;
        for chunk in booking_ids.chunks(CONCURRENCY) {
            if worked && out_of_time() {
                return self.continue_later(&event.id, report).await;
            }
            worked = true;
            let done = futures::future::join_all(
                chunk
                    .iter()
                    .map(|id| self.cancel_one_booking(&event.id, id, now)),
            )
            .await;
            let mut notes = Vec::new();
            for outcome in done {
                if let Some((refunded, note)) = outcome? {
                    report.bookings_cancelled += 1;
                    report.refunded = report.refunded + refunded;
                    notes.push(note);
                }
            }
            report.emails_sent += self.deliver_each(notes).await?;
        }

        let entries = self.store.active_entries(&event.id).await?;
        for chunk in entries.chunks(CONCURRENCY) {
            if worked && out_of_time() {
                return self.continue_later(&event.id, report).await;
            }
            worked = true;
            let done = futures::future::join_all(
                chunk
                    .iter()
                    .map(|entry| self.close_one_entry(&event.id, entry, now)),
            )
            .await;
            let mut notes = Vec::new();
            for outcome in done {
                if let Some(note) = outcome? {
                    report.entries_closed += 1;
                    notes.push(note);
                }
            }
            report.emails_sent += self.deliver_each(notes).await?;
        }
        report.finished = true;
        tracing::info!(event = %event.id, bookings = report.bookings_cancelled,
            refunded = %report.refunded, entries = report.entries_closed,
            emails = report.emails_sent, "event cancellation finished");
        Ok(report)
    }

    /// Sends the emails of a chunk one after another. The changes were made
    /// concurrently, but an email is only ever in flight alone: a crash
    /// (this invocation dying) can then catch at most one email between
    /// its send and the record that it went out — the one email that may
    /// go out twice, since SES takes no idempotency key. An email whose
    /// send fails stays pending; the sweeper retries it.
    async fn deliver_each(&self, notes: Vec<Notification>) -> Result<usize, EngineError> {
        let mut sent = 0;
        for note in notes {
            if self.deliver(note).await? == NotificationStatus::Sent {
                sent += 1;
            }
        }
        Ok(sent)
    }

    async fn continue_later(
        &self,
        event_id: &str,
        report: CancelReport,
    ) -> Result<CancelReport, EngineError> {
        self.store.request_cancel_run(event_id).await?;
        tracing::info!(event = %event_id, bookings = report.bookings_cancelled,
            entries = report.entries_closed, "event cancellation continues in a new run");
        Ok(report)
    }

    /// Cancels one booking with its refund owed and its email recorded in
    /// the same transaction, then refunds; returns the refund and the
    /// email to send. None when it was not (or no longer) confirmed.
    async fn cancel_one_booking(
        &self,
        event_id: &str,
        booking_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(Money, Notification)>, EngineError> {
        let Some(booking) = self.store.get_booking(booking_id).await? else {
            return Ok(None);
        };
        if booking.status != BookingStatus::Confirmed {
            return Ok(None);
        }
        let mut cancelled = booking.clone();
        cancelled.status = BookingStatus::Cancelled;
        cancelled.refund_amount = Some(booking.total_price);
        cancelled.cancellation_fee = Some(Money::ZERO);
        cancelled.cancelled_at = Some(now);
        let n = note(
            kind::EVENT_CANCELLED,
            format!("cancel-{}", booking.id),
            &booking.user_id,
            event_id,
            Some(booking.id.clone()),
            now,
            self.config.send_lease_secs,
        );
        // The full refund is recorded as owed in the cancellation's own
        // transaction, with its email: the stream brings the record back to
        // this worker, which pays it (`Engine::refund`); one that fails is
        // retried by the sweeper (same key), never forgotten, and a rerun of
        // the job finds the booking cancelled and pays nothing twice.
        let owed = (booking.total_price.cents() > 0)
            .then(|| RefundDue::owed(&booking, booking.total_price, now));
        if !self
            .store
            .cancel_booking_telling(&cancelled, Some(&n), owed.as_ref())
            .await?
        {
            return Ok(None);
        }
        self.crash.hit("cancel_job.after_booking");
        Ok(Some((booking.total_price, n)))
    }

    /// Closes one entry still in line (withdrawing its open offer), with
    /// its email recorded in the same transaction; returns the email to
    /// send, None when it had already left the line.
    async fn close_one_entry(
        &self,
        event_id: &str,
        entry: &WaitlistEntry,
        now: DateTime<Utc>,
    ) -> Result<Option<Notification>, EngineError> {
        let n = note(
            kind::WAITLIST_CLOSED,
            format!("closed-{}", entry.id),
            &entry.user_id,
            event_id,
            None,
            now,
            self.config.send_lease_secs,
        );
        let closed = match entry.status {
            EntryStatus::Waiting => self.store.close_entry(entry, &n).await?,
            EntryStatus::Offered => {
                let offer = match &entry.claim_token {
                    Some(token) => self.store.get_offer(token).await?,
                    None => None,
                };
                match offer {
                    Some(offer) if offer.status == OfferStatus::Open => {
                        self.store
                            .end_offer_telling(
                                &offer,
                                OfferStatus::Withdrawn,
                                EntryStatus::Closed,
                                Some(&n),
                                now,
                            )
                            .await?
                    }
                    _ => false,
                }
            }
            _ => false,
        };
        if !closed {
            return Ok(None);
        }
        Ok(Some(n))
    }
}
