//! Offers (a real hold for the matched waitlist entry, plus its claim token
//! and the notification announcing it), written in one transaction with the
//! seats they take; and the notification records.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use evently_core::{
    EntryStatus, Hold, Notification, NotificationStatus, Offer, OfferStatus, RefundDue, SeatId,
    SeatState, WaitlistEntry,
};

use crate::holds::{hold_item, release_seat_items, SeatRelease};
use crate::tx::{build_err, committed, n, s, written};
use crate::waitlist::entry_transition;
use crate::{keys, Store, StoreError};

/// GSI2 partition of open offers, sorted by expiry: what the sweeper reads.
const OPEN_OFFERS: &str = "OFFERS#OPEN";
/// GSI2 partition of notifications still to send, sorted by due time.
const PENDING_NOTIFICATIONS: &str = "NOTIFY#PENDING";

/// GSI2 partition of refunds still owed, sorted by when to try again.
const REFUNDS_DUE: &str = "REFUNDS#DUE";

pub(crate) fn due_key(at: DateTime<Utc>, id: &str) -> String {
    format!("{:012}#{id}", at.timestamp().max(0))
}

fn offer_item(offer: &Offer) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let (pk, sk) = keys::offer(&offer.claim_token);
    let mut item = crate::entity_item(offer, pk, sk, "offer")?;
    item.insert(keys::GSI2PK.into(), s(OPEN_OFFERS));
    item.insert(
        keys::GSI2SK.into(),
        s(due_key(offer.expires_at, &offer.claim_token)),
    );
    Ok(item)
}

/// A new notification, written with the state change it announces.
pub(crate) fn notification_put(
    store: &Store,
    note: &Notification,
) -> Result<TransactWriteItem, StoreError> {
    store.put_new_tx(notification_item(note)?)
}

fn notification_item(note: &Notification) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let (pk, sk) = keys::notification(&note.user_id, note.created_at, &note.id);
    let mut item = crate::entity_item(note, pk, sk, "notification")?;
    if note.status == NotificationStatus::Pending {
        item.insert(keys::GSI2PK.into(), s(PENDING_NOTIFICATIONS));
        item.insert(
            keys::GSI2SK.into(),
            s(due_key(note.next_attempt_at, &note.id)),
        );
    }
    Ok(item)
}

/// The hold an offer made, as the offer knows it (for when TTL has
/// deleted the hold item, a day after it expired).
fn offer_hold(offer: &Offer) -> Hold {
    Hold {
        id: offer.hold_id.clone(),
        user_id: offer.user_id.clone(),
        event_id: offer.event_id.clone(),
        section_id: offer.section_id.clone(),
        seat_ids: offer.seat_ids.clone(),
        total_price: offer.total_price,
        status: evently_core::HoldStatus::Active,
        created_at: offer.created_at,
        expires_at: offer.expires_at,
        offer: Some(evently_core::OfferRef {
            entry_id: offer.entry_id.clone(),
            claim_token: offer.claim_token.clone(),
        }),
    }
}

/// An entry of the event's waitlist by id (for offers, which know it).
fn entry_stub(offer: &Offer) -> WaitlistEntry {
    WaitlistEntry {
        id: offer.entry_id.clone(),
        user_id: offer.user_id.clone(),
        event_id: offer.event_id.clone(),
        quantity: offer.seat_ids.len() as u32,
        preferences: Default::default(),
        status: EntryStatus::Offered,
        joined_at: offer.created_at,
        claim_token: Some(offer.claim_token.clone()),
    }
}

impl Store {
    /// The seats of a section reserved for the waitlist, in seat order.
    pub async fn reserved_seats(
        &self,
        event: &evently_core::Event,
        section_id: &str,
    ) -> Result<Vec<SeatId>, StoreError> {
        let all = self.section_seats(event, section_id).await?;
        Ok(all
            .into_iter()
            .filter(|seat| seat.state == SeatState::Reserved)
            .map(|seat| seat.id)
            .collect())
    }

    /// Makes the offer: reserved seats → held by the offer's hold, entry
    /// waiting → offered, offer and notification written, all or nothing.
    /// False when the seats or the entry changed first.
    pub async fn create_offer(
        &self,
        offer: &Offer,
        hold: &Hold,
        entry: &WaitlistEntry,
        note: &Notification,
    ) -> Result<bool, StoreError> {
        let mut req = self.client.transact_write_items();
        for seat in &hold.seat_ids {
            let update = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::seat_row(&hold.event_id, seat)))
                .key(keys::SK, s(keys::seat_sk(&seat.to_string())))
                .update_expression("SET #status = :held, hold_id = :hold, holder_id = :user, hold_expires_at = :exp REMOVE GSI2PK, GSI2SK")
                .condition_expression("#status = :reserved")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":held", s("held"))
                .expression_attribute_values(":reserved", s("reserved"))
                .expression_attribute_values(":hold", s(&hold.id))
                .expression_attribute_values(":user", s(&hold.user_id))
                .expression_attribute_values(":exp", n(hold.expires_at.timestamp()))
                .build()
                .map_err(build_err)?;
            req = req.transact_items(TransactWriteItem::builder().update(update).build());
        }
        let put = |item| self.put_new_tx(item);
        req = req
            .transact_items(put(hold_item(hold)?)?)
            .transact_items(put(offer_item(offer)?)?)
            .transact_items(put(notification_item(note)?)?);
        for item in entry_transition(self, entry, "waiting", "offered", Some(&offer.claim_token))? {
            req = req.transact_items(item);
        }
        committed(req).await
    }

    /// Seats still reserved go back to the public, one by one (each
    /// conditional, so a seat someone was offered meanwhile is left alone).
    pub async fn release_reserved(
        &self,
        event_id: &str,
        seats: &[SeatId],
    ) -> Result<(), StoreError> {
        for seat in seats {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(keys::PK, s(keys::seat_row(event_id, seat)))
                .key(keys::SK, s(keys::seat_sk(&seat.to_string())))
                .update_expression("SET #status = :available REMOVE GSI2PK, GSI2SK")
                .condition_expression("#status = :reserved")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":available", s("available"))
                .expression_attribute_values(":reserved", s("reserved"))
                .send()
                .await;
            written(result)?;
        }
        Ok(())
    }

    pub async fn get_offer(&self, claim_token: &str) -> Result<Option<Offer>, StoreError> {
        match self.get_item(keys::offer(claim_token)).await? {
            Some(item) => Ok(Some(serde_dynamo::from_item(item)?)),
            None => Ok(None),
        }
    }

    /// Ends an open offer (expired or withdrawn): its seats go back to
    /// `reserved` for the next in line, the hold is released, the entry ends
    /// as `entry_to` (expired, or left when its user walked away). False
    /// when it was no longer open (claimed at the last second, or ended by
    /// someone else).
    pub async fn end_offer(
        &self,
        offer: &Offer,
        to: OfferStatus,
        entry_to: EntryStatus,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.end_offer_telling(offer, to, entry_to, None, now).await
    }

    /// `end_offer`, writing `note` in the same transaction (the event's
    /// cancellation tells the user why the offer ended).
    ///
    /// Robust to what time may have done to an offer nobody ended for a
    /// while: its hold item gone (TTL deletes it a day after expiry) or its
    /// seats taken by others since it expired. Only seats this hold still
    /// holds go back to the waitlist; the offer and entry close regardless.
    pub async fn end_offer_telling(
        &self,
        offer: &Offer,
        to: OfferStatus,
        entry_to: EntryStatus,
        note: Option<&Notification>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let entry_to = match entry_to {
            EntryStatus::Left => "left",
            EntryStatus::Closed => "closed",
            _ => "expired",
        };
        let to = match to {
            OfferStatus::Expired => "expired",
            OfferStatus::Withdrawn => "withdrawn",
            OfferStatus::Open | OfferStatus::Taken => {
                return Err(StoreError::Backend(
                    "end_offer ends an offer; use confirm to take it".into(),
                ))
            }
        };
        let stored = self.get_hold(&offer.hold_id).await?;
        let mut hold = stored.clone().unwrap_or_else(|| offer_hold(offer));
        let mut still_held = Vec::new();
        for seat in &offer.seat_ids {
            let key = (
                keys::seat_row(&offer.event_id, seat),
                keys::seat_sk(&seat.to_string()),
            );
            let held_by_offer = self.get_item(key).await?.is_some_and(|item| {
                crate::attr_s(&item, "status").ok() == Some("held")
                    && crate::attr_s(&item, "hold_id").ok() == Some(offer.hold_id.as_str())
            });
            if held_by_offer {
                still_held.push(seat.clone());
            }
        }
        hold.seat_ids = still_held;
        let mut req = self
            .client
            .transact_write_items()
            .transact_items(self.offer_close(&offer.claim_token, to)?);
        if stored.is_some_and(|h| h.status == evently_core::HoldStatus::Active) {
            req = req.transact_items(self.hold_status_update(&hold, "released")?);
        }
        for item in release_seat_items(self, &hold, SeatRelease::ToWaitlist { at: now })? {
            req = req.transact_items(item);
        }
        for item in entry_transition(self, &entry_stub(offer), "offered", entry_to, None)? {
            req = req.transact_items(item);
        }
        if let Some(note) = note {
            req = req.transact_items(notification_put(self, note)?);
        }
        committed(req).await
    }

    /// The transaction items that close an offer as taken when its hold is
    /// confirmed (used by `confirm_hold`).
    pub(crate) fn offer_taken_items(
        &self,
        offer_token: &str,
        entry: &WaitlistEntry,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut items = vec![self.offer_close(offer_token, "taken")?];
        items.extend(entry_transition(self, entry, "offered", "booked", None)?);
        Ok(items)
    }

    /// An open offer → `to` (taken, expired, withdrawn), leaving the
    /// sweeper's index of open offers; conditioned on it still being open.
    fn offer_close(&self, claim_token: &str, to: &str) -> Result<TransactWriteItem, StoreError> {
        let (pk, sk) = keys::offer(claim_token);
        let close = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET #status = :to REMOVE GSI2PK, GSI2SK")
            .condition_expression("#status = :open")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(to))
            .expression_attribute_values(":open", s("open"))
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().update(close).build())
    }

    /// Items of a GSI2 "due" partition whose time has come by `now`.
    pub(crate) fn due_query(&self, partition: &str, now: DateTime<Utc>) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI2)
            .key_condition_expression("GSI2PK = :pk AND GSI2SK <= :now")
            .expression_attribute_values(":pk", s(partition))
            .expression_attribute_values(":now", s(due_key(now, "~")))
    }

    /// Open offers whose time ran out by `now`.
    pub async fn offers_due(&self, now: DateTime<Utc>) -> Result<Vec<Offer>, StoreError> {
        let offers: Vec<Offer> = self
            .query_readable(self.due_query(OPEN_OFFERS, now))
            .await?;
        Ok(offers
            .into_iter()
            .filter(|o| o.status == OfferStatus::Open)
            .collect())
    }

    /// Pending notifications due for an attempt by `now`.
    pub async fn notifications_due(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Notification>, StoreError> {
        self.query_readable(self.due_query(PENDING_NOTIFICATIONS, now))
            .await
    }

    /// Rewrites a notification after an attempt (sent, failed, or pending
    /// with a later due time). Conditioned on the attempts count it was read
    /// with, so two senders cannot both record the same attempt.
    pub async fn save_notification(
        &self,
        note: &Notification,
        read_attempts: u32,
    ) -> Result<bool, StoreError> {
        // Retried hard: after an email went out, losing the record that
        // says so would send it again once the attempt's lease lapses.
        let item = notification_item(note)?;
        crate::retry::retrying("save_notification", || {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .condition_expression("attempts = :read")
                .expression_attribute_values(":read", n(read_attempts));
            async move { written(put.send().await) }
        })
        .await
    }

    /// One notification, read strongly (its sender claims it next).
    pub async fn get_notification(
        &self,
        user_id: &str,
        created_at: DateTime<Utc>,
        id: &str,
    ) -> Result<Option<Notification>, StoreError> {
        match self
            .get_item(keys::notification(user_id, created_at, id))
            .await?
        {
            Some(item) => Ok(Some(serde_dynamo::from_item(item)?)),
            None => Ok(None),
        }
    }

    /// A user's notifications, newest first.
    pub async fn user_notifications(&self, user_id: &str) -> Result<Vec<Notification>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(keys::user_notifications(user_id)))
            .scan_index_forward(false);
        self.query_as(query).await
    }
}

fn refund_item(refund: &RefundDue) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let (pk, sk) = keys::refund_due(&refund.booking_id);
    let mut item = crate::entity_item(refund, pk, sk, "refund_due")?;
    item.insert(keys::GSI2PK.into(), s(REFUNDS_DUE));
    item.insert(
        keys::GSI2SK.into(),
        s(due_key(refund.next_attempt_at, &refund.booking_id)),
    );
    Ok(item)
}

/// The refund record a cancellation writes in its own transaction.
pub(crate) fn refund_put(
    store: &Store,
    refund: &RefundDue,
) -> Result<TransactWriteItem, StoreError> {
    store.put_new_tx(refund_item(refund)?)
}

impl Store {
    /// What is still owed for a cancelled booking, if anything.
    pub async fn refund_due(&self, booking_id: &str) -> Result<Option<RefundDue>, StoreError> {
        match self.get_item(keys::refund_due(booking_id)).await? {
            Some(item) => Ok(Some(serde_dynamo::from_item(item)?)),
            None => Ok(None),
        }
    }

    /// The refund went through: nothing is owed any more.
    pub async fn refund_done(&self, booking_id: &str) -> Result<(), StoreError> {
        self.delete_item(keys::refund_due(booking_id)).await
    }

    /// An attempt failed: record it and when to try again (unless another
    /// attempt finished it meanwhile).
    pub async fn refund_retry_later(&self, refund: &RefundDue) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(refund_item(refund)?))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await;
        written(result).map(drop)
    }

    /// Refunds owed whose next attempt is due by `now`.
    pub async fn refunds_due(&self, now: DateTime<Utc>) -> Result<Vec<RefundDue>, StoreError> {
        self.query_readable(self.due_query(REFUNDS_DUE, now)).await
    }
}
