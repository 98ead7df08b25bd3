//! Payment attempts: written before a card is charged and closed in the
//! same transaction that books the hold (or when the charge is refunded or
//! declined), so a charge whose request died in between is never lost: the
//! open attempts are indexed by when they may be settled.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use evently_core::{AttemptStatus, PaymentAttempt};

use crate::offers::due_key;
use crate::tx::{build_err, n, s, written};
use crate::{keys, Store, StoreError};

/// GSI2 partition of attempts not yet settled, by when they may be.
const OPEN_ATTEMPTS: &str = "PAYMENTS#OPEN";

fn status_str(status: AttemptStatus) -> &'static str {
    match status {
        AttemptStatus::Charging => "charging",
        AttemptStatus::Booked => "booked",
        AttemptStatus::Refunded => "refunded",
        AttemptStatus::Declined => "declined",
    }
}

fn attempt_item(a: &PaymentAttempt) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let (pk, sk) = keys::payment_attempt(&a.hold_id, &a.key);
    let mut item = crate::entity_item(a, pk, sk, "payment_attempt")?;
    if a.status == AttemptStatus::Charging {
        item.insert(keys::GSI2PK.into(), s(OPEN_ATTEMPTS));
        item.insert(keys::GSI2SK.into(), s(due_key(a.settle_after, &a.key)));
    }
    Ok(item)
}

impl Store {
    /// Records an attempt before its charge. When the same hold and card
    /// were tried before, that attempt is returned instead (a retry
    /// continues it: same provider key, so never a second charge).
    pub async fn begin_payment(
        &self,
        attempt: &PaymentAttempt,
    ) -> Result<PaymentAttempt, StoreError> {
        let item = attempt_item(attempt)?;
        let created = crate::retry::retrying("begin_payment", || {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .condition_expression("attribute_not_exists(PK)");
            async move { written(put.send().await) }
        })
        .await?;
        if created {
            return Ok(attempt.clone());
        }
        match self
            .get_item(keys::payment_attempt(&attempt.hold_id, &attempt.key))
            .await?
        {
            Some(item) => Ok(serde_dynamo::from_item(item)?),
            // Gone between the write and the read: only TTL deletes
            // attempts, long after they close. Treat as new.
            None => Ok(attempt.clone()),
        }
    }

    pub async fn get_payment_attempt(
        &self,
        hold_id: &str,
        key: &str,
    ) -> Result<Option<PaymentAttempt>, StoreError> {
        match self.get_item(keys::payment_attempt(hold_id, key)).await? {
            Some(item) => Ok(Some(serde_dynamo::from_item(item)?)),
            None => Ok(None),
        }
    }

    /// The transaction item that closes an open attempt as booked by
    /// `payment_id` (part of the confirm transaction).
    pub(crate) fn payment_booked_item(
        &self,
        attempt: &PaymentAttempt,
        payment_id: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        Ok(TransactWriteItem::builder()
            .update(self.close_update(attempt, AttemptStatus::Booked, Some(payment_id), None)?)
            .build())
    }

    fn close_update(
        &self,
        attempt: &PaymentAttempt,
        to: AttemptStatus,
        payment_id: Option<&str>,
        error: Option<&str>,
    ) -> Result<Update, StoreError> {
        let (pk, sk) = keys::payment_attempt(&attempt.hold_id, &attempt.key);
        let mut set = vec!["#status = :to"];
        let mut update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .condition_expression("#status = :charging")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(status_str(to)))
            .expression_attribute_values(":charging", s("charging"));
        if let Some(id) = payment_id {
            set.push("payment_id = :payment");
            update = update.expression_attribute_values(":payment", s(id));
        }
        if let Some(e) = error {
            set.push("last_error = :error");
            update = update.expression_attribute_values(":error", s(e));
        }
        update
            .update_expression(format!("SET {} REMOVE GSI2PK, GSI2SK", set.join(", ")))
            .build()
            .map_err(build_err)
    }

    /// Closes an open attempt (refunded or declined). False when it was
    /// closed already (by a retry of the same request, or the sweeper).
    pub async fn close_payment(
        &self,
        attempt: &PaymentAttempt,
        to: AttemptStatus,
        payment_id: Option<&str>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let update = self.close_update(attempt, to, payment_id, error)?;
        let req = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build());
        crate::tx::committed(req).await
    }

    /// An open attempt that could not be settled yet: try again later.
    pub async fn postpone_payment(
        &self,
        attempt: &PaymentAttempt,
        until: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        let (pk, sk) = keys::payment_attempt(&attempt.hold_id, &attempt.key);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression(
                "SET settle_after = :at, GSI2SK = :due, last_error = :error ADD settle_attempts :one",
            )
            .condition_expression("#status = :charging")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":at", s(evently_core::clock::rfc3339(until)))
            .expression_attribute_values(":due", s(due_key(until, &attempt.key)))
            .expression_attribute_values(":error", s(error))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":charging", s("charging"));
        written(update.send().await).map(drop)
    }

    /// Open attempts whose request should have finished by `now`.
    pub async fn payments_due(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<PaymentAttempt>, StoreError> {
        self.query_readable(self.due_query(OPEN_ATTEMPTS, now))
            .await
    }
}
