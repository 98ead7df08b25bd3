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

use crate::holds::guard_release;
use crate::tx::{build_err, commit, failure, n, old_item, s, TxError};
use crate::{attr_s, keys, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    /// The hold is no longer active: confirmed, released, or (as of the
    /// transaction) expired. The caller re-reads it to say which.
    #[error("hold is no longer active")]
    HoldNotActive,
    /// The event is no longer on sale (its organizer cancelled it).
    #[error("event is no longer on sale")]
    EventClosed,
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
pub enum ReleaseTo {
    /// Anyone may hold them.
    Public,
    /// People are waiting: only the waitlist worker may hand them on.
    Waitlist,
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
    /// consumed and the payment attempt closed as booked, in one
    /// transaction. Conflicts and throttling are retried (see `tx::commit`);
    /// the SDK's own retries keep the call's client request token, so a
    /// retry after a timeout cannot book twice.
    pub async fn confirm_hold(
        &self,
        hold: &Hold,
        booking: &Booking,
        attempt: &PaymentAttempt,
        now: DateTime<Utc>,
    ) -> Result<(), ConfirmError> {
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
        req = req
            .transact_items(self.hold_status_update(hold, "confirmed")?)
            .transact_items(self.put_new_tx(booking_item(booking)?)?);
        for item in guard_release(self, hold)? {
            req = req.transact_items(item);
        }
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
            for item in self.offer_taken_items(&offer.claim_token, &entry)? {
                req = req.transact_items(item);
            }
        }
        req = req.transact_items(self.payment_booked_item(attempt, &booking.payment_id)?);
        // Last item: the event is still on sale. Once an organizer cancels
        // it, no confirm can slip in behind the cancellation job.
        req = req.transact_items(self.event_on_sale(&hold.event_id, &hold.id)?);
        match commit(req).await {
            Ok(()) => Ok(()),
            Err(TxError::Refused(reasons)) => {
                if reasons.last().and_then(failure) == Some("ConditionalCheckFailed") {
                    Err(ConfirmError::EventClosed)
                } else {
                    Err(ConfirmError::HoldNotActive)
                }
            }
            Err(TxError::Store(e)) => Err(e.into()),
        }
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

    /// Confirmed → cancelled with the refund and fee, seats released (to
    /// the public or reserved for the waitlist), in one transaction.
    /// Returns false when the booking was already cancelled.
    /// The owner's cancellation: also conditioned on the event still being
    /// published, so it cannot slip in (with a policy fee) once the
    /// organizer has cancelled the event, whose job refunds in full.
    /// `refund`, when something is owed back, is recorded in the same
    /// transaction, so a refund that then fails is retried, not forgotten.
    pub async fn cancel_booking(
        &self,
        cancelled: &Booking,
        release: ReleaseTo,
        refund: Option<&RefundDue>,
    ) -> Result<CancelOutcome, StoreError> {
        self.cancel_booking_tx(cancelled, release, None, refund, true)
            .await
    }

    /// An event cancellation's booking cancellation, writing `note` and
    /// the refund owed in the same transaction (neither the email nor the
    /// money can be lost). False when it was already cancelled.
    pub async fn cancel_booking_telling(
        &self,
        cancelled: &Booking,
        release: ReleaseTo,
        note: Option<&Notification>,
        owed: Option<&RefundDue>,
    ) -> Result<bool, StoreError> {
        Ok(self
            .cancel_booking_tx(cancelled, release, note, owed, false)
            .await?
            == CancelOutcome::Cancelled)
    }

    async fn cancel_booking_tx(
        &self,
        cancelled: &Booking,
        release: ReleaseTo,
        note: Option<&Notification>,
        owed: Option<&RefundDue>,
        on_sale: bool,
    ) -> Result<CancelOutcome, StoreError> {
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
                ReleaseTo::Public => update
                    .update_expression(
                        "SET #status = :to, released_from = :booking REMOVE booking_id",
                    )
                    .expression_attribute_values(":to", s("available")),
                ReleaseTo::Waitlist => {
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
        // Last: the event check's reason is read by position.
        if on_sale {
            req = req.transact_items(self.event_on_sale(&cancelled.event_id, &cancelled.id)?);
        }
        match commit(req).await {
            Ok(()) => Ok(CancelOutcome::Cancelled),
            Err(TxError::Store(e)) => Err(e),
            Err(TxError::Refused(reasons)) => {
                let already = reasons
                    .first()
                    .filter(|r| failure(r).is_some())
                    .and_then(old_item)
                    .and_then(|i| attr_s(i, "status").ok().map(|s| s == "cancelled"))
                    .unwrap_or(false);
                if already {
                    Ok(CancelOutcome::AlreadyCancelled)
                } else if on_sale
                    && reasons.last().and_then(failure) == Some("ConditionalCheckFailed")
                {
                    Ok(CancelOutcome::EventClosed)
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
