//! The waitlist engine, shared by the worker and the sweeper.
//!
//! Seats reach the waitlist by becoming `reserved` (a cancellation while
//! people wait, an offer that expired or was withdrawn). The table's stream
//! turns every such change into a `SeatsReleased` message; the worker calls
//! `hand_out`, which offers the seats to the first matching entries as real
//! holds and emails them. `sweep` ends offers whose time ran out (their seats
//! become reserved again, so the stream cascades them to the next person) and
//! retries emails that have not gone out. Every step is a conditional write,
//! so redelivered messages, the sweeper and a user booking at the last second
//! can race safely: only seats still `reserved` are ever handed out.

pub mod cancel;
mod seating;
pub mod stream;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use evently_core::offer::kind;
use evently_core::offer::retry_delay_secs;
use evently_core::waitlist::{assign, FreedSeats};
use evently_core::{
    Clock, Hold, HoldStatus, Notification, NotificationStatus, Offer, OfferRef, OfferStatus,
    SeatId, WaitlistEntry,
};
use evently_notify::{
    render_booking_cancelled, render_booking_confirmed, render_cancellation, render_offer,
    render_password_reset, BookingEmail, CancellationEmail, Mailer, OfferEmail, PasswordResetEmail,
    SendError, TicketLine,
};
use evently_store::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// Everything the waitlist queue carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WaitlistMessage {
    Released(SeatsReleased),
    Cancelled(cancel::EventCancelled),
    Seating(SeatingRequested),
    Refund(RefundOwed),
    Deliver(DeliverNotification),
}

/// The queue message asking to send an email a request wrote (a booking's
/// confirmation or cancellation): where the notification is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverNotification {
    pub deliver: String,
    pub user_id: String,
    pub created_at: DateTime<Utc>,
}

/// The queue message asking to pay a refund recorded as owed (a booking
/// cancelled by its customer or by the event's cancellation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundOwed {
    /// The cancelled booking's id (its refund record's key).
    pub refund_owed: String,
}

/// The queue message asking for (another run of) writing a draft event's
/// seats (evently_store's seating.rs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatingRequested {
    pub event_seating: String,
    /// The event's `seating_runs` when the message was made (for the logs).
    pub run: u32,
}

/// The message on the waitlist queue: seats of one section became reserved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatsReleased {
    pub event_id: String,
    pub section_id: String,
    pub seat_ids: Vec<SeatId>,
    /// What released them (a booking or an offer's hold), for the logs.
    pub released_from: String,
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub offer_ttl_secs: i64,
    pub max_email_attempts: u32,
    /// How long one run of an event's cancellation job may work before it
    /// hands the rest to a fresh run (the worker Lambda times out at 30 s).
    pub job_budget_secs: i64,
    /// Where claim links point: `<base>/offers/<token>`, the web app's page
    /// for the offer (it reads `GET /api/v1/waitlist/offers/<token>`).
    pub public_base_url: String,
    /// How long one email attempt may take before another sender may try
    /// again (the claim on an attempt lapses).
    pub send_lease_secs: i64,
    /// How long a payment attempt may stay open before the sweeper settles
    /// it (longer than any confirm request runs).
    pub payment_settle_secs: i64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            offer_ttl_secs: 900,
            max_email_attempts: 3,
            job_budget_secs: 20,
            public_base_url: "http://127.0.0.1:3000".into(),
            send_lease_secs: 60,
            payment_settle_secs: 60,
        }
    }
}

impl EngineConfig {
    pub fn from_env() -> Self {
        let d = Self::default();
        let num = |name: &str, default: i64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|v: &i64| *v > 0)
                .unwrap_or(default)
        };
        Self {
            offer_ttl_secs: num("OFFER_TTL_SECONDS", d.offer_ttl_secs),
            max_email_attempts: num("MAX_EMAIL_ATTEMPTS", i64::from(d.max_email_attempts)) as u32,
            job_budget_secs: num("JOB_BUDGET_SECONDS", d.job_budget_secs),
            public_base_url: std::env::var("PUBLIC_BASE_URL").unwrap_or(d.public_base_url),
            send_lease_secs: num("SEND_LEASE_SECONDS", d.send_lease_secs),
            payment_settle_secs: num("PAYMENT_SETTLE_SECONDS", d.payment_settle_secs),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Missing(String),
}

/// What one `hand_out` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HandOut {
    pub offers: Vec<String>,
    pub released_to_public: Vec<SeatId>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// False when another sweep held the lock: this one did nothing.
    pub ran: bool,
    pub offers_expired: usize,
    pub emails_retried: usize,
    pub refunds_retried: usize,
    pub payments_settled: usize,
    /// Stale reserved seats handed out again (offered or freed).
    pub seats_redriven: usize,
    /// Items that failed (logged and skipped; the next sweep tries again).
    pub failures: usize,
    /// True when the run stopped at its deadline with work left.
    pub stopped_early: bool,
}

pub struct Engine {
    pub store: Store,
    pub mailer: Mailer,
    pub clock: Arc<dyn Clock>,
    /// Refunds bookings when their event is cancelled.
    pub payments: Arc<dyn evently_core::PaymentProvider>,
    /// Injected crashes (tests and the local stack only).
    pub crash: Arc<evently_core::CrashPoints>,
    pub config: EngineConfig,
}

impl Engine {
    /// From the Lambda environment: `TABLE_NAME`, `SENDER_EMAIL`, the
    /// settings of `EngineConfig::from_env`, and the SDK's own variables.
    pub async fn from_env() -> Result<Self, String> {
        let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
        let sender = std::env::var("SENDER_EMAIL").map_err(|_| "SENDER_EMAIL is not set")?;
        let aws = evently_store::aws::load().await;
        Ok(Self {
            store: Store::new(evently_store::aws::dynamodb(&aws), table),
            mailer: Mailer::new(evently_notify::ses_client(&aws), sender),
            clock: Arc::new(evently_core::SystemClock),
            payments: evently_payments::provider_from_env(),
            crash: Arc::new(evently_core::CrashPoints::from_env()),
            config: EngineConfig::from_env(),
        })
    }

    /// Money in and out, over this engine's store, provider and clock.
    pub fn cashier(&self) -> evently_payments::Payments {
        evently_payments::Payments {
            store: self.store.clone(),
            provider: self.payments.clone(),
            clock: self.clock.clone(),
            crash: self.crash.clone(),
            settle_after_secs: self.config.payment_settle_secs,
        }
    }
}

/// Name of the sweeper's lock (one sweep at a time).
const SWEEP_LOCK: &str = "sweeper";

/// What a notification comes to when it is time to send it.
enum Composed {
    Mail {
        to: String,
        mail: evently_notify::Rendered,
        offer: Option<Box<Offer>>,
    },
    /// Nothing to say any more (the offer it announced has ended).
    Moot(String),
}

fn claim_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%A %-d %B %Y, %H:%M UTC").to_string()
}

impl Engine {
    /// Offers the still-reserved seats of `msg` to the first matching
    /// entries, FIFO; seats nobody matches go back to the public.
    pub async fn hand_out(&self, msg: &SeatsReleased) -> Result<HandOut, EngineError> {
        let event = self
            .store
            .get_event(&msg.event_id)
            .await?
            .ok_or_else(|| EngineError::Missing(format!("event {}", msg.event_id)))?;
        let section = event
            .section(&msg.section_id)
            .ok_or_else(|| EngineError::Missing(format!("section {}", msg.section_id)))?
            .clone();
        let mut done = HandOut::default();
        if event.status == evently_core::EventStatus::Cancelled {
            // Nobody is in line any more (the cancellation closed every
            // entry); the seats simply stop being reserved.
            let reserved = self.store.reserved_seats(&event, &section.id).await?;
            self.store.release_reserved(&event.id, &reserved).await?;
            done.released_to_public = reserved;
            return Ok(done);
        }
        // A round restarts when a write finds the world changed (an entry
        // left, another worker took the seats); a few rounds always settle.
        for _ in 0..5 {
            // Every reserved seat of the section, not only the message's: the
            // stream may split one release over several batches, and seats
            // reserved earlier wait just the same.
            let reserved = self.store.reserved_seats(&event, &section.id).await?;
            if reserved.is_empty() {
                return Ok(done);
            }
            let entries = self.store.waiting_entries(&event.id).await?;
            let freed = FreedSeats {
                section_id: section.id.clone(),
                price: section.price,
                seats: reserved,
            };
            let (assignments, rest) = assign(&entries, &freed);
            let mut raced = false;
            for a in assignments {
                let Some(entry) = entries.iter().find(|e| e.id == a.entry_id) else {
                    continue;
                };
                match self
                    .offer(entry, &section.id, section.price, a.seats)
                    .await?
                {
                    Some((token, note)) => {
                        done.offers.push(token);
                        // A crash here leaves the email pending: the
                        // sweeper sends it once its lease lapses.
                        self.crash.hit("worker.after_offer");
                        self.deliver(note).await?;
                    }
                    None => {
                        raced = true;
                        break;
                    }
                }
            }
            if raced {
                continue;
            }
            self.store.release_reserved(&event.id, &rest).await?;
            done.released_to_public.extend(rest);
            return Ok(done);
        }
        Ok(done)
    }

    async fn offer(
        &self,
        entry: &WaitlistEntry,
        section_id: &str,
        price: evently_core::Money,
        seats: Vec<SeatId>,
    ) -> Result<Option<(String, Notification)>, EngineError> {
        let now = self.clock.now();
        let expires_at = now + Duration::seconds(self.config.offer_ttl_secs);
        let token = claim_token();
        let total = price * seats.len() as i64;
        let hold = Hold {
            id: evently_core::new_id(),
            user_id: entry.user_id.clone(),
            event_id: entry.event_id.clone(),
            section_id: section_id.to_owned(),
            seat_ids: seats.clone(),
            total_price: total,
            status: HoldStatus::Active,
            created_at: now,
            expires_at,
            offer: Some(OfferRef {
                entry_id: entry.id.clone(),
                claim_token: token.clone(),
            }),
        };
        let offer = Offer {
            claim_token: token.clone(),
            hold_id: hold.id.clone(),
            entry_id: entry.id.clone(),
            user_id: entry.user_id.clone(),
            event_id: entry.event_id.clone(),
            section_id: section_id.to_owned(),
            seat_ids: seats,
            total_price: total,
            status: OfferStatus::Open,
            created_at: now,
            expires_at,
        };
        // The worker sends at once; the sweeper only steps in if that
        // attempt never finished.
        let mut note = Notification::pending(
            hold.id.clone(),
            &entry.user_id,
            kind::OFFER,
            now,
            now + Duration::seconds(self.config.send_lease_secs),
        );
        note.claim_token = token.clone();
        note.event_id = Some(entry.event_id.clone());
        if self.store.create_offer(&offer, &hold, entry, &note).await? {
            // The claim token is a credential: never logged (the hold id
            // identifies the offer).
            tracing::info!(entry = %entry.id, hold = %hold.id, seats = offer.seat_ids.len(), "waitlist offer made");
            Ok(Some((token, note)))
        } else {
            Ok(None)
        }
    }

    /// One attempt to email a pending notification. On the last failed
    /// attempt the notification is `failed`, and an offer it announced is
    /// withdrawn, so its seats go to the next person in line.
    pub async fn deliver(&self, mut note: Notification) -> Result<NotificationStatus, EngineError> {
        if note.status != NotificationStatus::Pending {
            return Ok(note.status);
        }
        let now = self.clock.now();
        let read_attempts = note.attempts;
        let (to, mail, offer) = match self.compose(&note).await? {
            Composed::Mail { to, mail, offer } => (to, mail, offer),
            Composed::Moot(why) => {
                note.status = NotificationStatus::Failed;
                note.last_error = Some(why);
                if note.kind == kind::PASSWORD_RESET {
                    note.claim_token.clear();
                }
                self.store.save_notification(&note, read_attempts).await?;
                return Ok(note.status);
            }
        };
        note.subject = mail.subject.clone();
        // Claim this attempt before sending, so the worker and the sweeper
        // never both send it: whoever records the attempt first sends.
        note.attempts += 1;
        note.next_attempt_at = now + Duration::seconds(self.config.send_lease_secs);
        if !self.store.save_notification(&note, read_attempts).await? {
            return Ok(note.status);
        }
        let claimed = note.attempts;
        // A crash here leaves the attempt claimed but unsent: the claim
        // lapses and the email goes out once. (A crash between the send and
        // the record below would send it twice: SES takes no idempotency
        // key, so that window is kept as small as one write.)
        self.crash.hit("email.before_send");
        match self.mailer.send(&to, &mail).await {
            Ok(message_id) => {
                note.status = NotificationStatus::Sent;
                note.sent_at = Some(now);
                note.last_error = None;
                tracing::info!(notification = %note.id, kind = %note.kind, %message_id, "email sent");
            }
            Err(e) => {
                note.last_error = Some(e.to_string());
                if note.attempts >= self.config.max_email_attempts {
                    note.status = NotificationStatus::Failed;
                } else {
                    note.next_attempt_at = now + Duration::seconds(retry_delay_secs(note.attempts));
                }
                let permanent = matches!(e, SendError::Rejected(_));
                tracing::warn!(notification = %note.id, kind = %note.kind, attempts = note.attempts, permanent, error = %e, "email not sent");
            }
        }
        if note.kind == kind::PASSWORD_RESET && note.status != NotificationStatus::Pending {
            // Sent or given up: the link's token stays only in the email.
            note.claim_token.clear();
        }
        if !self.store.save_notification(&note, claimed).await? {
            // Another sender claimed it after this attempt's lease ran out:
            // a send that took longer than the lease (it may go out twice).
            tracing::warn!(notification = %note.id, kind = %note.kind, "notification claimed by another sender during this attempt");
            return Ok(note.status);
        }
        if note.status == NotificationStatus::Failed {
            if let Some(offer) = offer {
                self.withdraw(&offer).await?;
            }
        }
        Ok(note.status)
    }

    /// A booking's confirmation (with its tickets' QR codes) or its
    /// cancellation by its owner (with the refund).
    async fn compose_booking(
        &self,
        note: &Notification,
        user: evently_core::User,
    ) -> Result<Composed, EngineError> {
        let booking_id = note.booking_id.clone().unwrap_or_default();
        let booking = self
            .store
            .get_booking(&booking_id)
            .await?
            .ok_or_else(|| EngineError::Missing(format!("booking {booking_id}")))?;
        let event = self
            .store
            .get_event(&booking.event_id)
            .await?
            .ok_or_else(|| EngineError::Missing(format!("event {}", booking.event_id)))?;
        let confirmed = note.kind == kind::BOOKING_CONFIRMED;
        if confirmed && booking.status == evently_core::BookingStatus::Cancelled {
            return Ok(Composed::Moot(
                "the booking was cancelled before its confirmation went out".into(),
            ));
        }
        let base = self.config.public_base_url.trim_end_matches('/');
        let refund = booking.refund_amount.unwrap_or_default();
        let email = BookingEmail {
            name: user.name.clone(),
            event_name: event.name.clone(),
            starts_at: when(event.starts_at),
            venue: format!("{}, {}", event.venue.name, event.venue.city),
            section: event
                .section(&booking.section_id)
                .map_or(booking.section_id.clone(), |s| s.name.clone()),
            seats: booking.seat_ids.iter().map(ToString::to_string).collect(),
            booking_id: booking.id.clone(),
            total_price: booking.total_price.to_string(),
            currency: event.currency.clone(),
            // The web app's booking page: the tickets with their QR codes,
            // and cancelling with the policy's refund shown first.
            manage_url: format!("{base}/bookings/{}", booking.id),
            tickets: note
                .tickets
                .iter()
                .enumerate()
                .map(|(i, t)| TicketLine {
                    seat_id: t.seat_id.clone(),
                    code: t.code.clone(),
                    cid: format!("ticket-{}@evently", i + 1),
                })
                .collect(),
            fee: booking.cancellation_fee.unwrap_or_default().to_string(),
            refund: refund.to_string(),
            refund_owed: refund.cents() > 0,
        };
        let mail = if confirmed {
            render_booking_confirmed(&email)
        } else {
            render_booking_cancelled(&email)
        }
        .map_err(|e| EngineError::Missing(format!("email template: {e}")))?;
        Ok(Composed::Mail {
            to: user.email,
            mail,
            offer: None,
        })
    }

    /// The email a notification sends, to whom, and the offer it announces.
    async fn compose(&self, note: &Notification) -> Result<Composed, EngineError> {
        let user = self
            .store
            .get_user(&note.user_id)
            .await?
            .ok_or_else(|| EngineError::Missing(format!("user {}", note.user_id)))?;
        if note.kind == kind::BOOKING_CONFIRMED || note.kind == kind::BOOKING_CANCELLED {
            return self.compose_booking(note, user).await;
        }
        if note.kind == kind::PASSWORD_RESET {
            let expires_at =
                note.created_at + Duration::seconds(evently_core::user::RESET_LINK_SECS);
            if expires_at <= self.clock.now() || note.claim_token.is_empty() {
                return Ok(Composed::Moot(
                    "the reset link expired before its email went out".into(),
                ));
            }
            let base = self.config.public_base_url.trim_end_matches('/');
            let mail = render_password_reset(&PasswordResetEmail {
                name: user.name.clone(),
                reset_url: format!("{base}/reset-password?token={}", note.claim_token),
                token: note.claim_token.clone(),
                expires_at: when(expires_at),
            })
            .map_err(|e| EngineError::Missing(format!("email template: {e}")))?;
            return Ok(Composed::Mail {
                to: user.email,
                mail,
                offer: None,
            });
        }
        if note.kind == kind::EVENT_CANCELLED || note.kind == kind::WAITLIST_CLOSED {
            let event_id = note.event_id.clone().unwrap_or_default();
            let event = self
                .store
                .get_event(&event_id)
                .await?
                .ok_or_else(|| EngineError::Missing(format!("event {event_id}")))?;
            let booking = match &note.booking_id {
                Some(id) => self.store.get_booking(id).await?,
                None => None,
            };
            let section = booking
                .as_ref()
                .and_then(|b| event.section(&b.section_id))
                .map(|s| s.name.clone())
                .unwrap_or_default();
            let mail = render_cancellation(&CancellationEmail {
                name: user.name.clone(),
                event_name: event.name.clone(),
                starts_at: when(event.starts_at),
                venue: format!("{}, {}", event.venue.name, event.venue.city),
                currency: event.currency.clone(),
                booking_id: booking.as_ref().map(|b| b.id.clone()),
                section,
                seats: booking
                    .as_ref()
                    .map(|b| b.seat_ids.iter().map(ToString::to_string).collect())
                    .unwrap_or_default(),
                refund: booking
                    .as_ref()
                    .and_then(|b| b.refund_amount)
                    .unwrap_or_default()
                    .to_string(),
            })
            .map_err(|e| EngineError::Missing(format!("email template: {e}")))?;
            return Ok(Composed::Mail {
                to: user.email,
                mail,
                offer: None,
            });
        }
        let offer = self
            .store
            .get_offer(&note.claim_token)
            .await?
            .ok_or_else(|| EngineError::Missing(format!("offer of notification {}", note.id)))?;
        if offer.status != OfferStatus::Open {
            // Nothing left to announce (booked, expired or withdrawn).
            return Ok(Composed::Moot(
                format!("offer is {:?}; not sent", offer.status).to_lowercase(),
            ));
        }
        let event = self
            .store
            .get_event(&offer.event_id)
            .await?
            .ok_or_else(|| EngineError::Missing(format!("event {}", offer.event_id)))?;
        let section = event
            .section(&offer.section_id)
            .map_or(offer.section_id.clone(), |s| s.name.clone());
        let mail = render_offer(&OfferEmail {
            name: user.name.clone(),
            event_name: event.name.clone(),
            starts_at: when(event.starts_at),
            venue: format!("{}, {}", event.venue.name, event.venue.city),
            section,
            seats: offer.seat_ids.iter().map(ToString::to_string).collect(),
            total_price: offer.total_price.to_string(),
            currency: event.currency.clone(),
            expires_at: when(offer.expires_at),
            claim_url: format!(
                "{}/offers/{}",
                self.config.public_base_url.trim_end_matches('/'),
                offer.claim_token
            ),
        })
        .map_err(|e| EngineError::Missing(format!("email template: {e}")))?;
        Ok(Composed::Mail {
            to: user.email,
            mail,
            offer: Some(Box::new(offer)),
        })
    }

    /// Sends the notification the stream brought (`DeliverNotification`),
    /// unless someone is sending it already (its attempt claimed and not
    /// yet due again) or it was sent: a message delivered twice sends once.
    pub async fn deliver_stored(
        &self,
        msg: &DeliverNotification,
    ) -> Result<NotificationStatus, EngineError> {
        let Some(note) = self
            .store
            .get_notification(&msg.user_id, msg.created_at, &msg.deliver)
            .await?
        else {
            return Err(EngineError::Missing(format!(
                "notification {}",
                msg.deliver
            )));
        };
        if note.attempts > 0 && note.next_attempt_at > self.clock.now() {
            return Ok(note.status);
        }
        self.deliver(note).await
    }

    /// Pays the refund recorded as owed for `booking_id` (the stream's
    /// first try; nothing when it was paid already). A refund the provider
    /// refuses stays owed for the sweeper to retry: true when it went
    /// through or nothing was owed.
    pub async fn refund(&self, booking_id: &str) -> Result<bool, EngineError> {
        let Some(owed) = self.store.refund_due(booking_id).await? else {
            return Ok(true);
        };
        Ok(self.cashier().refund_owed(&owed).await?)
    }

    /// Takes an offer back; its seats become reserved again, which the
    /// stream turns into a hand-out to the next matching entry.
    pub async fn withdraw(&self, offer: &Offer) -> Result<bool, EngineError> {
        Ok(self
            .store
            .end_offer(
                offer,
                OfferStatus::Withdrawn,
                evently_core::EntryStatus::Expired,
                self.clock.now(),
            )
            .await?)
    }

    /// The scheduled sweep, one at a time (a lock with a lease as long as
    /// the run may take): expire offers whose time ran out, retry emails
    /// that are due, settle payments whose request was lost, retry refunds
    /// still owed, and hand out seats left reserved past their grace
    /// period. Each item is handled on its own: one that fails is logged,
    /// counted and skipped, and the run goes on. It stops starting new work
    /// at `stop_at`.
    pub async fn sweep(&self, stop_at: tokio::time::Instant) -> Result<SweepReport, EngineError> {
        let now = self.clock.now();
        let mut report = SweepReport::default();
        let owner = evently_core::new_id();
        let lease = stop_at
            .saturating_duration_since(tokio::time::Instant::now())
            .as_secs() as i64
            + 5;
        if !self.store.take_lock(SWEEP_LOCK, &owner, now, lease).await? {
            tracing::info!("another sweep is running; this one does nothing");
            return Ok(report);
        }
        report.ran = true;
        let out_of_time = || tokio::time::Instant::now() >= stop_at;
        self.sweep_steps(now, &mut report, &out_of_time).await;
        report.stopped_early = out_of_time();
        if let Err(e) = self.store.release_lock(SWEEP_LOCK, &owner).await {
            tracing::warn!(error = %e, "sweep lock not released; it lapses with its lease");
        }
        Ok(report)
    }

    async fn sweep_steps(
        &self,
        now: DateTime<Utc>,
        report: &mut SweepReport,
        stop: &(dyn Fn() -> bool + Sync),
    ) {
        fn skip<T>(
            report: &mut SweepReport,
            what: &str,
            r: Result<T, impl std::fmt::Display>,
        ) -> Option<T> {
            r.map_err(|e| {
                report.failures += 1;
                tracing::error!(error = %e, what, "sweep step failed; skipped");
            })
            .ok()
        }
        let offers = skip(
            report,
            "reading due offers",
            self.store.offers_due(now).await,
        );
        for offer in offers.unwrap_or_default() {
            if stop() {
                return;
            }
            let ended = self
                .store
                .end_offer(
                    &offer,
                    OfferStatus::Expired,
                    evently_core::EntryStatus::Expired,
                    now,
                )
                .await;
            if skip(report, "expiring an offer", ended) == Some(true) {
                report.offers_expired += 1;
                tracing::info!(hold = %offer.hold_id, "waitlist offer expired");
            }
        }
        let notes = skip(
            report,
            "reading due emails",
            self.store.notifications_due(now).await,
        );
        for note in notes.unwrap_or_default() {
            if stop() {
                return;
            }
            self.crash.hit("sweeper.before_email");
            if skip(report, "retrying an email", self.deliver(note).await).is_some() {
                report.emails_retried += 1;
            }
        }
        let cashier = self.cashier();
        let settled = cashier.settle_due(now, stop).await;
        report.payments_settled += settled.booked + settled.refunded + settled.declined;
        report.failures += settled.failed;
        let (retried, failed) = cashier.retry_refunds_due(now, stop).await;
        report.refunds_retried += retried;
        report.failures += failed;
        if stop() {
            return;
        }
        let stale = skip(
            report,
            "reading stale reservations",
            self.store.stale_reservations(now).await,
        );
        // One hand-out per section: it offers or frees every reserved seat
        // of the section.
        let mut sections: Vec<(String, String, Vec<SeatId>)> = Vec::new();
        for r in stale.unwrap_or_default() {
            match sections
                .iter_mut()
                .find(|(e, s, _)| *e == r.event_id && *s == r.section_id)
            {
                Some((_, _, seats)) => seats.push(r.seat_id),
                None => sections.push((r.event_id, r.section_id, vec![r.seat_id])),
            }
        }
        for (event_id, section_id, seat_ids) in sections {
            if stop() {
                return;
            }
            let count = seat_ids.len();
            tracing::warn!(event = %event_id, section = %section_id, seats = count,
                "seats still reserved past their grace period (a lost waitlist message); handing them out");
            let msg = SeatsReleased {
                event_id,
                section_id,
                seat_ids,
                released_from: "sweeper".into(),
            };
            if skip(
                report,
                "handing out stale reservations",
                self.hand_out(&msg).await,
            )
            .is_some()
            {
                report.seats_redriven += count;
            }
        }
    }
}
