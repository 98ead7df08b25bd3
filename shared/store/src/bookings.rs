//! Confirming a hold into a booking, reading bookings, and cancelling one:
//! each state change is one transaction over the seats and the records.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use evently_core::{
    Booking, EntryStatus, Hold, Notification, PaymentAttempt, RefundDue, WaitlistEntry,
};

use aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder;

use crate::holds::guard_release;
use crate::idempotency::{recorded_answer, Answer, IDEMPOTENCY_WINDOW_SECS};
use crate::tx::{build_err, commit, failure, n, old_item, s, TxError};
use crate::{attr_n, attr_s, keys, Store, StoreError};

/// What a booking's transaction records and checks beside the booking:
/// the request's Idempotency-Key answer, the email that announces it, and
/// the token version of the paying session (None when the sweeper books a
/// payment whose request was lost).
#[derive(Debug, Clone, Copy, Default)]
pub struct Alongside<'a> {
    pub answer: Option<&'a Answer<'a>>,
    pub note: Option<&'a Notification>,
    pub session: Option<u64>,
}

/// Where a confirm transaction's items of interest are.
struct Positions {
    hold: usize,
    answer: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    /// The hold is no longer active: confirmed, released, or (as of the
    /// transaction) expired. The caller re-reads it to say which.
    #[error("hold is no longer active")]
    HoldNotActive,
    /// The event is no longer on sale (its organizer cancelled it).
    #[error("event is no longer on sale")]
    EventClosed,
    /// The request's Idempotency-Key has an answer already (this booking's,
    /// or another request's).
    #[error("idempotency key already used")]
    KeyUsed(crate::Begin),
    /// The paying session's access token was issued before the account's
    /// password changed: nothing was booked.
    #[error("the session has ended")]
    SessionEnded,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a cancellation by the booking's owner ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    Cancelled,
    AlreadyCancelled,
    /// The organizer cancelled the event: its job refunds in full.
    EventClosed,
}

/// Where a cancelled booking's seats go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Release {
    /// Anyone may hold them; `checked`: only if the event has no waitlist
    /// (checked in the transaction).
    Public { checked: bool },
    /// The event has a waitlist: only the waitlist worker may hand them on.
    Waitlist,
}

/// How a cancellation's transaction ended.
enum Tx {
    Done(CancelOutcome),
    /// Releasing to the public was refused: the event has a waitlist.
    WaitlistOpened,
}

fn booking_item(booking: &Booking) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let (pk, sk) = keys::booking(&booking.id);
    let created = evently_core::clock::rfc3339(booking.created_at);
    let mut item = crate::entity_item(booking, pk, sk, "booking")?;
    item.insert(
        keys::GSI1PK.into(),
        s(keys::user_bookings(&booking.user_id)),
    );
    item.insert(keys::GSI1SK.into(), s(format!("{created}#{}", booking.id)));
    item.insert(
        keys::GSI2PK.into(),
        s(keys::event_bookings(&booking.event_id)),
    );
    item.insert(keys::GSI2SK.into(), s(format!("{created}#{}", booking.id)));
    Ok(item)
}

impl Store {
    /// Seats held by this hold and unexpired → booked, booking written, hold
    /// confirmed with its payment attempt closed as booked, and (for a keyed
    /// request) the Idempotency-Key's `answer` recorded, in one
    /// transaction. `last_open`: the attempt is the only open one on the
    /// hold (as `begin_payment` found), so the hold leaves the sweeper's
    /// index in the same write; if another attempt began meanwhile the
    /// transaction is sent again without that. Conflicts and throttling are
    /// retried (see `tx::commit`); the SDK's own retries keep the call's
    /// client request token, so a retry after a timeout cannot book twice.
    pub async fn confirm_hold(
        &self,
        hold: &Hold,
        booking: &Booking,
        attempt: &PaymentAttempt,
        now: DateTime<Utc>,
        mut last_open: bool,
        with: Alongside<'_>,
    ) -> Result<(), ConfirmError> {
        loop {
            let (req, at) = self.confirm_tx(hold, booking, attempt, now, last_open, &with)?;
            let reasons = match commit(req).await {
                Ok(()) => return Ok(()),
                Err(TxError::Store(e)) => return Err(e.into()),
                Err(TxError::Refused(reasons)) => reasons,
            };
            if crate::tx::session_refused(&reasons) {
                return Err(ConfirmError::SessionEnded);
            }
            let answer = with.answer;
            let failed =
                |i: usize| reasons.get(i).and_then(failure) == Some("ConditionalCheckFailed");
            // Last item: the event is still on sale.
            if failed(reasons.len().saturating_sub(1)) {
                return Err(ConfirmError::EventClosed);
            }
            if let (Some(answer), Some(i)) = (answer, at.answer) {
                if failed(i) {
                    let record = reasons[i].item().cloned().unwrap_or_default();
                    return Err(ConfirmError::KeyUsed(recorded_answer(
                        &record,
                        answer.request_hash,
                        now.timestamp(),
                        IDEMPOTENCY_WINDOW_SECS,
                    )?));
                }
            }
            // The hold still stands and so does the attempt: only the count
            // of open attempts changed (another card began).
            let stands = failed(at.hold)
                && last_open
                && reasons[at.hold].item().is_some_and(|h| {
                    crate::attr_s(h, "status").ok() == Some("active")
                        && attr_n(h, "open_payments").unwrap_or(0) != 1
                });
            if stands {
                last_open = false;
                continue;
            }
            return Err(ConfirmError::HoldNotActive);
        }
    }

    fn confirm_tx(
        &self,
        hold: &Hold,
        booking: &Booking,
        attempt: &PaymentAttempt,
        now: DateTime<Utc>,
        last_open: bool,
        with: &Alongside<'_>,
    ) -> Result<(TransactWriteItemsFluentBuilder, Positions), StoreError> {
        let Alongside {
            answer,
            note,
            session,
        } = *with;
        let mut req = self.client.transact_write_items();
        for seat in &hold.seat_ids {
            let update = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::seat_row(&hold.event_id, seat)))
                .key(keys::SK, s(keys::seat_sk(&seat.to_string())))
                .update_expression("SET #status = :booked, booking_id = :booking REMOVE hold_id, holder_id, hold_expires_at")
                .condition_expression("#status = :held AND hold_id = :hold AND hold_expires_at > :now")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":booked", s("booked"))
                .expression_attribute_values(":held", s("held"))
                .expression_attribute_values(":booking", s(&booking.id))
                .expression_attribute_values(":hold", s(&hold.id))
                .expression_attribute_values(":now", n(now.timestamp()))
                .build()
                .map_err(build_err)?;
            req = req.transact_items(TransactWriteItem::builder().update(update).build());
        }
        let mut at = Positions {
            hold: hold.seat_ids.len(),
            answer: None,
        };
        let mut items = vec![
            self.hold_booked_item(hold, attempt, &booking.payment_id, last_open)?,
            self.put_new_tx(booking_item(booking)?)?,
        ];
        items.extend(guard_release(self, hold)?);
        if let Some(offer) = &hold.offer {
            // Booking an offer closes it and the waitlist entry it served.
            let entry = WaitlistEntry {
                id: offer.entry_id.clone(),
                user_id: hold.user_id.clone(),
                event_id: hold.event_id.clone(),
                quantity: hold.seat_ids.len() as u32,
                preferences: Default::default(),
                status: EntryStatus::Offered,
                joined_at: hold.created_at,
                claim_token: Some(offer.claim_token.clone()),
            };
            items.extend(self.offer_taken_items(&offer.claim_token, &entry)?);
        }
        if let Some(note) = note {
            // The confirmation email, sent from the stream (never lost,
            // never for a booking that was not made).
            items.push(crate::offers::notification_put(self, note)?);
        }
        if let Some(answer) = answer {
            at.answer = Some(at.hold + items.len());
            items.push(self.answer_tx(answer, now)?);
        }
        if let Some(version) = session {
            // The paying session is current (a request's confirm; the
            // sweeper settling a lost payment books what was paid).
            items.push(self.session_check(&hold.user_id, version)?);
        }
        // Last: the event is still on sale. Once an organizer cancels it,
        // no confirm can slip in behind the cancellation job.
        items.push(self.event_on_sale(&hold.event_id, &hold.id)?);
        for item in items {
            req = req.transact_items(item);
        }
        Ok((req, at))
    }

    pub async fn get_booking(&self, id: &str) -> Result<Option<Booking>, StoreError> {
        match self.get_item(keys::booking(id)).await? {
            Some(item) => Ok(Some(serde_dynamo::from_item(item)?)),
            None => Ok(None),
        }
    }

    /// Every booking of an event, confirmed or cancelled (from an index: a
    /// moment behind the latest change).
    pub async fn event_bookings(&self, event_id: &str) -> Result<Vec<Booking>, StoreError> {
        self.query_as(self.index_query(keys::GSI2, keys::event_bookings(event_id)))
            .await
    }

    /// A user's bookings, newest first.
    pub async fn user_bookings(&self, user_id: &str) -> Result<Vec<Booking>, StoreError> {
        let query = self
            .index_query(keys::GSI1, keys::user_bookings(user_id))
            .scan_index_forward(false);
        self.query_as(query).await
    }

    /// Confirmed → cancelled with the refund and fee, seats released, in
    /// one transaction. Where the seats go needs no read: an event that has
    /// never had a waitlist releases them to the public, checked in the
    /// transaction against the event's waitlist marker; once it has one
    /// (learnt from that check, or by this process before) they become
    /// `reserved` and the waitlist worker offers them to the first in line
    /// or frees them if nobody matches.
    /// The owner's cancellation: also conditioned on the event still being
    /// on sale (a sale-gate shard), so it cannot slip in (with a policy fee)
    /// once the organizer has cancelled the event, whose job refunds in full.
    /// `refund`, when something is owed back, is recorded in the same
    /// transaction: the stream hands it to the waitlist worker, which pays
    /// it, and the sweeper retries it until it goes through. So is `note`,
    /// the email telling the customer (sent from the stream too).
    /// `session`: the token version of the owner's session, checked in the
    /// same transaction (`StoreError::SessionEnded` when it has ended).
    pub async fn cancel_booking(
        &self,
        cancelled: &Booking,
        refund: Option<&RefundDue>,
        note: Option<&Notification>,
        session: u64,
    ) -> Result<CancelOutcome, StoreError> {
        let event_id = &cancelled.event_id;
        let by = Some(session);
        if !self.waitlisted.knows(event_id) {
            let to = Release::Public { checked: true };
            match self
                .cancel_booking_tx(cancelled, to, (note, refund), true, by)
                .await?
            {
                Tx::Done(outcome) => return Ok(outcome),
                Tx::WaitlistOpened => self.waitlisted.learn(event_id),
            }
        }
        match self
            .cancel_booking_tx(cancelled, Release::Waitlist, (note, refund), true, by)
            .await?
        {
            Tx::Done(outcome) => Ok(outcome),
            Tx::WaitlistOpened => Err(StoreError::Corrupt(
                "a waitlist release checked the waitlist marker".into(),
            )),
        }
    }

    /// An event cancellation's booking cancellation, writing `note` and
    /// the refund owed in the same transaction (neither the email nor the
    /// money can be lost). False when it was already cancelled.
    /// The seats go back to the public: nobody waits for a cancelled
    /// event (the job closes its waitlist).
    pub async fn cancel_booking_telling(
        &self,
        cancelled: &Booking,
        note: Option<&Notification>,
        owed: Option<&RefundDue>,
    ) -> Result<bool, StoreError> {
        let to = Release::Public { checked: false };
        Ok(matches!(
            self.cancel_booking_tx(cancelled, to, (note, owed), false, None)
                .await?,
            Tx::Done(CancelOutcome::Cancelled)
        ))
    }

    async fn cancel_booking_tx(
        &self,
        cancelled: &Booking,
        release: Release,
        (note, owed): (Option<&Notification>, Option<&RefundDue>),
        on_sale: bool,
        session: Option<u64>,
    ) -> Result<Tx, StoreError> {
        let (pk, sk) = keys::booking(&cancelled.id);
        let refund = cancelled.refund_amount.unwrap_or_default().to_string();
        let fee = cancelled.cancellation_fee.unwrap_or_default().to_string();
        let at = cancelled
            .cancelled_at
            .map(evently_core::clock::rfc3339)
            .unwrap_or_default();
        let booking = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression(
                "SET #status = :cancelled, refund_amount = :refund, cancellation_fee = :fee, cancelled_at = :at",
            )
            .condition_expression("#status = :confirmed")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":cancelled", s("cancelled"))
            .expression_attribute_values(":confirmed", s("confirmed"))
            .expression_attribute_values(":refund", s(refund))
            .expression_attribute_values(":fee", s(fee))
            .expression_attribute_values(":at", s(at))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_err)?;
        let mut req = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(booking).build());
        // Second (the reasons read by position are the first and the last
        // ones): the owner's session is current.
        if let Some(version) = session {
            req = req.transact_items(self.session_check(&cancelled.user_id, version)?);
        }
        let released_at = cancelled.cancelled_at.unwrap_or(cancelled.created_at);
        for seat in &cancelled.seat_ids {
            let seat_id = seat.to_string();
            let mut update = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::seat_row(&cancelled.event_id, seat)))
                .key(keys::SK, s(keys::seat_sk(&seat_id)))
                .condition_expression("#status = :booked AND booking_id = :booking")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":booked", s("booked"))
                .expression_attribute_values(":booking", s(&cancelled.id));
            update = match release {
                Release::Public { .. } => update
                    .update_expression(
                        "SET #status = :to, released_from = :booking REMOVE booking_id",
                    )
                    .expression_attribute_values(":to", s("available")),
                Release::Waitlist => {
                    let (rpk, rsk) = crate::seats::reserved_index(
                        released_at,
                        &cancelled.event_id,
                        &cancelled.section_id,
                        &seat_id,
                    );
                    update
                        .update_expression(
                            "SET #status = :to, released_from = :booking, GSI2PK = :rpk, GSI2SK = :rsk \
                             REMOVE booking_id",
                        )
                        .expression_attribute_values(":to", s("reserved"))
                        .expression_attribute_values(":rpk", rpk)
                        .expression_attribute_values(":rsk", rsk)
                }
            };
            req = req.transact_items(
                TransactWriteItem::builder()
                    .update(update.build().map_err(build_err)?)
                    .build(),
            );
        }
        if let Some(note) = note {
            req = req.transact_items(crate::offers::notification_put(self, note)?);
        }
        if let Some(owed) = owed {
            req = req.transact_items(crate::offers::refund_put(self, owed)?);
        }
        // Last: the checks, whose reasons are read by position.
        let checks_waitlist = matches!(release, Release::Public { checked: true });
        if checks_waitlist {
            req = req.transact_items(self.no_waitlist_check(&cancelled.event_id)?);
        }
        if on_sale {
            req = req.transact_items(self.event_on_sale(&cancelled.event_id, &cancelled.id)?);
        }
        let failed_check = |reasons: &[aws_sdk_dynamodb::types::CancellationReason],
                            back: usize| {
            reasons
                .len()
                .checked_sub(back)
                .and_then(|i| reasons.get(i))
                .and_then(failure)
                == Some("ConditionalCheckFailed")
        };
        match commit(req).await {
            Ok(()) => Ok(Tx::Done(CancelOutcome::Cancelled)),
            Err(TxError::Store(e)) => Err(e),
            Err(TxError::Refused(reasons)) if crate::tx::session_refused(&reasons) => {
                Err(StoreError::SessionEnded)
            }
            Err(TxError::Refused(reasons)) => {
                let already = reasons
                    .first()
                    .filter(|r| failure(r).is_some())
                    .and_then(old_item)
                    .and_then(|i| attr_s(i, "status").ok().map(|s| s == "cancelled"))
                    .unwrap_or(false);
                if already {
                    Ok(Tx::Done(CancelOutcome::AlreadyCancelled))
                } else if on_sale && failed_check(&reasons, 1) {
                    Ok(Tx::Done(CancelOutcome::EventClosed))
                } else if checks_waitlist && failed_check(&reasons, 1 + usize::from(on_sale)) {
                    Ok(Tx::WaitlistOpened)
                } else {
                    // A seat no longer booked by this booking, or a refund
                    // record already there: the data is not what it should be.
                    Err(StoreError::Corrupt(format!(
                        "cancelling booking {}: {:?}",
                        cancelled.id,
                        reasons.iter().filter_map(failure).collect::<Vec<_>>()
                    )))
                }
            }
        }
    }

    /// A condition check that the event is still on sale: one shard of its
    /// sale gate (chosen by `spread_by`, the hold's or booking's id), all of
    /// them closed in the cancellation's own transaction. Not the event
    /// item itself: every confirm and cancel checking one item would make
    /// it a hot key (2 units each) and have concurrent transactions meet on
    /// it; 64 shards spread both.
    pub(crate) fn event_on_sale(
        &self,
        event_id: &str,
        spread_by: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let (pk, sk) = keys::sale_gate_of(event_id, spread_by);
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .condition_expression("attribute_not_exists(cancelled_at)")
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }
}
