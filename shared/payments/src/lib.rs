//! Money in and out, so that every charge ends as exactly one booking or
//! exactly one refund, whatever fails in between:
//!
//! * `pay_for_hold` records a payment attempt before the card is charged,
//!   charges with a key per hold and card (asking again never charges
//!   again), and books the hold in one transaction that also closes the
//!   attempt. A charge that cannot be booked is refunded.
//! * `settle_due` (the sweeper) finds attempts whose request died between
//!   charge and booking, asks the provider again with the same key, and
//!   books the hold if it still stands or refunds.
//! * `refund_owed` pays back what a cancellation recorded as owed (in the
//!   cancellation's own transaction); what fails stays owed and
//!   `retry_refunds_due` tries again with the same key until it goes
//!   through.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use evently_core::offer::retry_delay_secs;
use evently_core::{
    AttemptStatus, Booking, Clock, CrashPoints, Hold, HoldStatus, Notification, PaymentAttempt,
    PaymentError, PaymentProvider, RefundDue,
};
use evently_store::{Alongside, Answer, ConfirmError, Store, StoreError};

/// The provider `PAYMENT_PROVIDER` names: `simulator` (test card tokens;
/// the local stack and tests) or nothing, which refuses every charge and
/// refund as unavailable (confirm answers 503, refunds stay owed) and logs
/// an error, until a real provider is plugged in here. A deployed stack
/// never books on a test card.
pub fn provider_from_env() -> Arc<dyn PaymentProvider> {
    match std::env::var("PAYMENT_PROVIDER").as_deref() {
        Ok("simulator") => Arc::new(evently_core::SimulatedPayments::stateless()),
        other => {
            tracing::error!(configured = ?other.ok(), "{}", evently_core::payment::NOT_CONFIGURED);
            Arc::new(evently_core::NotConfigured)
        }
    }
}

/// Why a hold was not paid for.
#[derive(Debug, thiserror::Error)]
pub enum PayError {
    /// Released, or (status still `Active`) expired.
    #[error("the hold has ended ({0:?})")]
    HoldEnded(HoldStatus),
    /// The hold was already turned into this booking (by another request,
    /// or paid with another card).
    #[error("the hold was already confirmed into booking {booking_id}")]
    AlreadyBooked { booking_id: String },
    #[error("the event is no longer on sale")]
    EventClosed,
    /// The paying session ended (a password change) before the booking
    /// was written: the charge was refunded.
    #[error("the session has ended")]
    SessionEnded,
    /// The user has no hold with this id.
    #[error("no such hold")]
    NoSuchHold,
    #[error("the hold belongs to someone else")]
    NotYours,
    /// The request's Idempotency-Key was used before: replay its answer,
    /// or refuse a different request.
    #[error("idempotency key already used")]
    KeyUsed(evently_store::Begin),
    #[error("the card was declined")]
    Declined,
    #[error("{0}")]
    InvalidToken(String),
    /// The provider did not answer: the charge may have happened. The
    /// attempt stays open; a retry or the sweeper settles it.
    #[error("payment provider unavailable: {0}")]
    ProviderUnavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SettleReport {
    pub booked: usize,
    pub refunded: usize,
    pub declined: usize,
    pub postponed: usize,
    pub failed: usize,
}

pub struct Payments {
    pub store: Store,
    pub provider: Arc<dyn PaymentProvider>,
    pub clock: Arc<dyn Clock>,
    pub crash: Arc<CrashPoints>,
    /// How long an attempt may stay open before the sweeper treats its
    /// request as lost: longer than any request can run.
    pub settle_after_secs: i64,
}

/// A confirm request's Idempotency-Key: recorded with the booking (in its
/// transaction) as the answer `body` gives, so the key costs no request of
/// its own; the attempt remembers which key began it.
pub struct Keyed<'a> {
    pub scope: &'a str,
    pub key: &'a str,
    pub request_hash: &'a str,
    /// The 201 answer's body for the booking made.
    pub body: &'a (dyn Fn(&Booking) -> String + Send + Sync),
}

/// The email a booking made by a confirm request sends (written in the
/// booking's transaction).
pub type NoteFor<'a> = &'a (dyn Fn(&Booking) -> Notification + Send + Sync);

impl Keyed<'_> {
    fn answer(&self, booking: &Booking) -> Answer<'_> {
        Answer {
            scope: self.scope,
            key: self.key,
            request_hash: self.request_hash,
            status: 201,
            body: (self.body)(booking),
        }
    }
}

impl Payments {
    /// Pays for the hold `hold_id` of `user_id` with `card_token` and books
    /// it: two requests to the table (recording the attempt reads the hold;
    /// the booking transaction closes it) around the charge. `keyed`: the
    /// request's Idempotency-Key, whose answer is recorded with the booking;
    /// a retry with the same key gets that answer, or — when the sweeper
    /// booked the hold with this request's own charge — the booking.
    /// `session`: the token version of the paying session, checked in the
    /// booking transaction (an ended session's charge is refunded).
    pub async fn pay_for_hold(
        &self,
        hold_id: &str,
        (user_id, session): (&str, u64),
        card_token: &str,
        keyed: Option<&Keyed<'_>>,
        note_for: Option<NoteFor<'_>>,
    ) -> Result<Booking, PayError> {
        let now = self.clock.now();
        let draft = PaymentAttempt {
            hold_id: hold_id.to_owned(),
            user_id: user_id.to_owned(),
            event_id: String::new(),
            key: PaymentAttempt::key_for(hold_id, card_token),
            card_token: card_token.to_owned(),
            amount: evently_core::Money::default(),
            status: AttemptStatus::Charging,
            payment_id: None,
            created_at: now,
            settle_after: now + Duration::seconds(self.settle_after_secs),
            settle_attempts: 0,
            last_error: None,
            request_key: keyed.map(|k| k.key.to_owned()),
        };
        // The event and the amount are the hold's: the store fills them in
        // from the hold that recording the attempt reads.
        let Some(begun) = self.store.begin_payment(&draft, now).await? else {
            return Err(PayError::NoSuchHold);
        };
        let hold = begun.hold;
        if hold.user_id != user_id {
            return Err(PayError::NotYours);
        }
        let attempt = match begun.attempt {
            Some(a) if hold.is_live(now) => a,
            mine => return self.ended(&hold, mine.as_ref(), keyed).await,
        };
        match attempt.status {
            AttemptStatus::Charging => {}
            AttemptStatus::Declined => return Err(PayError::Declined),
            AttemptStatus::Booked | AttemptStatus::Refunded => {
                let latest = self.store.get_hold(&hold.id).await?.unwrap_or(hold.clone());
                return self.ended(&latest, Some(&attempt), keyed).await;
            }
        }
        self.crash.hit("confirm.before_charge");
        let payment_id = match self
            .provider
            .charge(card_token, hold.total_price, &attempt.key)
            .await
        {
            Ok(id) => id,
            Err(e @ (PaymentError::Declined | PaymentError::InvalidToken(_))) => {
                self.store
                    .close_payment(
                        &attempt,
                        AttemptStatus::Declined,
                        None,
                        Some(&e.to_string()),
                    )
                    .await?;
                return Err(match e {
                    PaymentError::InvalidToken(t) => {
                        PayError::InvalidToken(PaymentError::InvalidToken(t).to_string())
                    }
                    _ => PayError::Declined,
                });
            }
            Err(e) => {
                tracing::error!(hold = %hold.id, error = %e, "charge did not go through");
                return Err(PayError::ProviderUnavailable(e.to_string()));
            }
        };
        self.crash.hit("confirm.after_charge");
        let booking = Booking::from_hold(&hold, &payment_id, now);
        let answer = keyed.map(|k| k.answer(&booking));
        let note = note_for.map(|f| f(&booking));
        let last_open = begun.open <= 1;
        match self
            .store
            .confirm_hold(
                &hold,
                &booking,
                &attempt,
                now,
                last_open,
                Alongside {
                    answer: answer.as_ref(),
                    note: note.as_ref(),
                    session: Some(session),
                },
            )
            .await
        {
            Ok(()) => {
                self.crash.hit("confirm.after_booking");
                Ok(booking)
            }
            Err(ConfirmError::Store(e)) => {
                // The transaction may have committed before the answer was
                // lost: only a booking paid by this charge says so.
                if let Some(b) = self.booked_with(&hold.id, &payment_id).await? {
                    return Ok(b);
                }
                // The attempt stays open: a retry or the sweeper settles it.
                Err(e.into())
            }
            Err(lost) => {
                if let Some(b) = self.booked_with(&hold.id, &payment_id).await? {
                    // Booked with this very charge by another request: a
                    // request with the same key (its answer is ours), or the
                    // same card without one.
                    return match lost {
                        ConfirmError::KeyUsed(begin) => Err(PayError::KeyUsed(begin)),
                        _ => Err(PayError::AlreadyBooked { booking_id: b.id }),
                    };
                }
                // Nothing was booked for this charge: give it back (or leave
                // the attempt open for the sweeper if the refund fails).
                self.refund_attempt(&attempt, &payment_id).await?;
                match lost {
                    ConfirmError::EventClosed => Err(PayError::EventClosed),
                    ConfirmError::SessionEnded => Err(PayError::SessionEnded),
                    ConfirmError::KeyUsed(begin) => Err(PayError::KeyUsed(begin)),
                    _ => {
                        let latest = self.store.get_hold(&hold.id).await?.unwrap_or(hold.clone());
                        self.ended(&latest, Some(&attempt), None).await
                    }
                }
            }
        }
    }

    /// Why a hold that is no longer live cannot be paid for — or, for a
    /// request whose key was used before, that key's answer; or, when the
    /// booking was paid by this card's charge begun under this very key
    /// (the sweeper booked it after the request died), the booking.
    async fn ended(
        &self,
        hold: &Hold,
        mine: Option<&PaymentAttempt>,
        keyed: Option<&Keyed<'_>>,
    ) -> Result<Booking, PayError> {
        if let Some(k) = keyed {
            let now = self.clock.now();
            if let Some(begin) = self
                .store
                .recorded_answer(k.scope, k.key, k.request_hash, now)
                .await?
            {
                return Err(PayError::KeyUsed(begin));
            }
        }
        if hold.status != HoldStatus::Confirmed {
            return Err(PayError::HoldEnded(hold.status));
        }
        let Some(booking) = self.store.get_booking(&hold.id).await? else {
            return Err(PayError::HoldEnded(hold.status));
        };
        let own = mine.is_some_and(|a| {
            a.payment_id.as_deref() == Some(booking.payment_id.as_str())
                && a.request_key.is_some()
                && a.request_key.as_deref() == keyed.map(|k| k.key)
        });
        if own {
            return Ok(booking);
        }
        Err(PayError::AlreadyBooked {
            booking_id: booking.id,
        })
    }

    async fn booked_with(
        &self,
        hold_id: &str,
        payment_id: &str,
    ) -> Result<Option<Booking>, StoreError> {
        Ok(self
            .store
            .get_booking(hold_id)
            .await?
            .filter(|b| b.payment_id == payment_id))
    }

    /// Refunds an attempt's charge that bought nothing and closes the
    /// attempt; if the provider refuses for now, the attempt stays open and
    /// the sweeper tries again.
    async fn refund_attempt(
        &self,
        attempt: &PaymentAttempt,
        payment_id: &str,
    ) -> Result<bool, StoreError> {
        match self
            .provider
            .refund(payment_id, attempt.amount, &attempt.refund_key())
            .await
        {
            Ok(_) => {
                self.store
                    .close_payment(attempt, AttemptStatus::Refunded, Some(payment_id), None)
                    .await
            }
            Err(e) => {
                tracing::error!(hold = %attempt.hold_id, error = %e,
                    "refund of an unbooked charge failed; the sweeper retries it");
                let later = self.clock.now() + Duration::seconds(retry_delay_secs(1));
                self.store
                    .postpone_payment(attempt, later, &e.to_string())
                    .await?;
                Ok(false)
            }
        }
    }

    /// Settles attempts whose request should long have finished: books the
    /// hold if it still stands, refunds otherwise. One bad attempt is
    /// logged and skipped; `stop` says when the caller's time is up.
    pub async fn settle_due(
        &self,
        now: DateTime<Utc>,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> SettleReport {
        let mut report = SettleReport::default();
        let due = match self.store.payments_due(now).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "could not read open payment attempts");
                report.failed += 1;
                return report;
            }
        };
        for attempt in due {
            if stop() {
                break;
            }
            match self.settle(&attempt, now).await {
                Ok(Some(AttemptStatus::Booked)) => report.booked += 1,
                Ok(Some(AttemptStatus::Refunded)) => report.refunded += 1,
                Ok(Some(AttemptStatus::Declined)) => report.declined += 1,
                Ok(_) => report.postponed += 1,
                Err(e) => {
                    report.failed += 1;
                    tracing::error!(hold = %attempt.hold_id, error = %e, "payment attempt not settled");
                }
            }
        }
        report
    }

    async fn settle(
        &self,
        attempt: &PaymentAttempt,
        now: DateTime<Utc>,
    ) -> Result<Option<AttemptStatus>, StoreError> {
        let later = now + Duration::seconds(retry_delay_secs(attempt.settle_attempts + 1));
        // The same key: the provider answers with the charge that was made,
        // or makes it now if the request died before charging.
        let payment_id = match self
            .provider
            .charge(&attempt.card_token, attempt.amount, &attempt.key)
            .await
        {
            Ok(id) => id,
            Err(e @ (PaymentError::Declined | PaymentError::InvalidToken(_))) => {
                self.store
                    .close_payment(attempt, AttemptStatus::Declined, None, Some(&e.to_string()))
                    .await?;
                return Ok(Some(AttemptStatus::Declined));
            }
            Err(e) => {
                self.store
                    .postpone_payment(attempt, later, &e.to_string())
                    .await?;
                return Ok(None);
            }
        };
        if let Some(hold) = self.store.get_hold(&attempt.hold_id).await? {
            if hold.is_live(now) {
                let booking = Booking::from_hold(&hold, &payment_id, now);
                // Another open attempt may remain: the index entry stays,
                // and the next sweep takes the hold out once none is open.
                // Its email has no ticket codes (the key to sign them is
                // the API's): it links to the tickets instead.
                let note = Notification::about_booking(
                    evently_core::offer::kind::BOOKING_CONFIRMED,
                    &booking,
                    now,
                    now + Duration::seconds(60),
                );
                match self
                    .store
                    .confirm_hold(
                        &hold,
                        &booking,
                        attempt,
                        now,
                        false,
                        Alongside {
                            answer: None,
                            note: Some(&note),
                            session: None,
                        },
                    )
                    .await
                {
                    Ok(()) => {
                        tracing::warn!(hold = %hold.id, booking = %booking.id,
                            "booked a paid hold whose confirm request was lost");
                        return Ok(Some(AttemptStatus::Booked));
                    }
                    Err(ConfirmError::Store(e)) => return Err(e),
                    Err(_) => {}
                }
            }
        }
        if self
            .booked_with(&attempt.hold_id, &payment_id)
            .await?
            .is_some()
        {
            // Booked by this charge after all (a retry of the request won).
            self.store
                .close_payment(attempt, AttemptStatus::Booked, Some(&payment_id), None)
                .await?;
            return Ok(Some(AttemptStatus::Booked));
        }
        if self.refund_attempt(attempt, &payment_id).await? {
            tracing::warn!(hold = %attempt.hold_id, "refunded a charge whose hold could not be booked");
            return Ok(Some(AttemptStatus::Refunded));
        }
        Ok(None)
    }

    /// Pays back what a cancellation recorded as owed, and forgets the
    /// debt once paid. False when the provider did not take it: the record
    /// stays and `retry_refunds_due` tries again.
    pub async fn refund_owed(&self, owed: &RefundDue) -> Result<bool, StoreError> {
        match self
            .provider
            .refund(&owed.payment_id, owed.amount, &owed.key())
            .await
        {
            Ok(_) => {
                self.crash.hit("refund.before_done");
                self.store.refund_done(&owed.booking_id).await?;
                Ok(true)
            }
            Err(e) => {
                tracing::warn!(booking = %owed.booking_id, error = %e, "refund failed; retried by the sweeper");
                Ok(false)
            }
        }
    }

    /// Retries refunds still owed whose time has come (backoff capped at
    /// 15 minutes), one by one: a failure is logged and the rest go on.
    pub async fn retry_refunds_due(
        &self,
        now: DateTime<Utc>,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> (usize, usize) {
        let (mut retried, mut failed) = (0, 0);
        let due = match self.store.refunds_due(now).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "could not read refunds owed");
                return (0, 1);
            }
        };
        for mut owed in due {
            if stop() {
                break;
            }
            retried += 1;
            match self.refund_owed(&owed).await {
                Ok(true) => {
                    tracing::info!(booking = %owed.booking_id, attempts = owed.attempts + 1, "refund went through");
                }
                Ok(false) => {
                    owed.attempts += 1;
                    owed.last_error = Some("the provider refused the refund for now".into());
                    owed.next_attempt_at = now + Duration::seconds(retry_delay_secs(owed.attempts));
                    tracing::error!(booking = %owed.booking_id, attempts = owed.attempts, "refund still failing");
                    if let Err(e) = self.store.refund_retry_later(&owed).await {
                        failed += 1;
                        tracing::error!(booking = %owed.booking_id, error = %e, "could not reschedule a refund");
                    }
                }
                Err(e) => {
                    failed += 1;
                    tracing::error!(booking = %owed.booking_id, error = %e, "refund not settled");
                }
            }
        }
        (retried, failed)
    }
}
