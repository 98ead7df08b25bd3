//! Payment attempts, kept on the hold they pay for: a hold item carries a
//! `payments` map (one entry per card tried, keyed by the provider key)
//! and `open_payments`, the number of attempts not yet settled. Recording
//! an attempt is the same single UpdateItem that reads the hold for the
//! confirm (its owner, whether it is still live), and the booking
//! transaction closes it together with the hold, so a confirm costs two
//! round trips and a charge whose request died in between is never lost:
//! while any attempt is open the hold sits in the `PAYMENTS#OPEN` index by
//! when the sweeper may settle it.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use evently_core::{AttemptStatus, Hold, PaymentAttempt};

use crate::offers::due_key;
use crate::tx::{build_err, n, s};
use crate::{attr_n, keys, Store, StoreError};

/// GSI2 partition of holds with attempts not yet settled, by when the
/// earliest may be.
const OPEN_ATTEMPTS: &str = "PAYMENTS#OPEN";

type Item = HashMap<String, AttributeValue>;

pub(crate) fn status_str(status: AttemptStatus) -> &'static str {
    match status {
        AttemptStatus::Charging => "charging",
        AttemptStatus::Booked => "booked",
        AttemptStatus::Refunded => "refunded",
        AttemptStatus::Declined => "declined",
    }
}

/// A new hold's (empty) record of payments.
pub(crate) fn no_payments(item: &mut Item) {
    item.insert("payments".into(), AttributeValue::M(HashMap::new()));
    item.insert("open_payments".into(), n(0));
}

/// What recording an attempt found.
#[derive(Debug, Clone)]
pub struct Begun {
    /// The hold as it stands (with the attempt, if it was recorded).
    pub hold: Hold,
    /// This card's attempt: recorded now, or by an earlier request. None
    /// when the hold was no longer live and none had been made.
    pub attempt: Option<PaymentAttempt>,
    /// Attempts on the hold still open, this one included.
    pub open: i64,
}

/// An attempt's entry on its hold item, completed from the hold (its
/// user, event and price are the hold's; the entry does not repeat them).
fn attempt_from(hold: &Item, entry: &AttributeValue) -> Result<PaymentAttempt, StoreError> {
    let mut attempt: PaymentAttempt = serde_dynamo::from_attribute_value(entry.clone())?;
    let own: Hold = serde_dynamo::from_item(hold.clone())?;
    attempt.hold_id = own.id;
    attempt.user_id = own.user_id;
    attempt.event_id = own.event_id;
    attempt.amount = own.total_price;
    Ok(attempt)
}

fn attempt_in(item: &Item, key: &str) -> Result<Option<PaymentAttempt>, StoreError> {
    match item.get("payments") {
        Some(AttributeValue::M(map)) => map.get(key).map(|v| attempt_from(item, v)).transpose(),
        _ => Ok(None),
    }
}

fn begun(item: Item, key: &str) -> Result<Begun, StoreError> {
    let attempt = attempt_in(&item, key)?;
    let open = attr_n(&item, "open_payments").unwrap_or(0);
    Ok(Begun {
        hold: serde_dynamo::from_item(item)?,
        attempt,
        open,
    })
}

/// The single update of an attempt on its hold: `set` and `add` clauses
/// (the attempt's entry is `payments.#k`, its status `payments.#k.#status`),
/// conditioned on the attempt still charging.
fn attempt_update(
    store: &Store,
    attempt: &PaymentAttempt,
    set: &[&str],
    add: &str,
) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
    let (pk, sk) = keys::hold(&attempt.hold_id);
    let add = if add.is_empty() {
        String::new()
    } else {
        format!(" ADD {add}")
    };
    store
        .client
        .update_item()
        .table_name(&store.table)
        .key(keys::PK, s(pk))
        .key(keys::SK, s(sk))
        .update_expression(format!("SET {}{add}", set.join(", ")))
        .condition_expression("payments.#k.#status = :charging")
        .expression_attribute_names("#k", &attempt.key)
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":charging", s("charging"))
}

impl Store {
    /// Records `draft` on its hold before the card is charged, and reads the
    /// hold doing it: one request. Written only while the hold is its
    /// user's, active and unexpired, and this card was not tried on it
    /// before; otherwise the hold (and this card's earlier attempt, which a
    /// retry continues with the same provider key, so never a second
    /// charge) comes back from the failed condition. None when there is no
    /// such hold; someone else's comes back as it is (nothing recorded).
    pub async fn begin_payment(
        &self,
        draft: &PaymentAttempt,
        now: DateTime<Utc>,
    ) -> Result<Option<Begun>, StoreError> {
        let (pk, sk) = keys::hold(&draft.hold_id);
        let entry: AttributeValue = serde_dynamo::to_attribute_value(draft)?;
        let due = due_key(draft.settle_after, &draft.hold_id);
        let outcome = crate::retry::retrying("begin_payment", || {
            let update = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(keys::PK, s(&pk))
                .key(keys::SK, s(&sk))
                .update_expression(
                    "SET payments.#k = :attempt, GSI2PK = :open, \
                     GSI2SK = if_not_exists(GSI2SK, :due) ADD open_payments :one",
                )
                .condition_expression(
                    "attribute_exists(PK) AND user_id = :user AND #status = :active \
                     AND expires_at_epoch > :now AND attribute_not_exists(payments.#k)",
                )
                .expression_attribute_names("#k", &draft.key)
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":attempt", entry.clone())
                .expression_attribute_values(":open", s(OPEN_ATTEMPTS))
                .expression_attribute_values(":due", s(&due))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":user", s(&draft.user_id))
                .expression_attribute_values(":active", s("active"))
                .expression_attribute_values(":now", n(now.timestamp()))
                .return_values(ReturnValue::AllNew)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            async move {
                match update.send().await {
                    Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
                    // Not written: the hold as it is (none if there is none).
                    Err(e) => match e.as_service_error() {
                        Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                            Ok(c.item().cloned())
                        }
                        _ => Err(StoreError::from(e)),
                    },
                }
            }
        })
        .await?;
        let Some(item) = outcome.filter(|i| !i.is_empty()) else {
            return Ok(None);
        };
        begun(item, &draft.key).map(Some)
    }

    pub async fn get_payment_attempt(
        &self,
        hold_id: &str,
        key: &str,
    ) -> Result<Option<PaymentAttempt>, StoreError> {
        match self.get_item(keys::hold(hold_id)).await? {
            Some(item) => attempt_in(&item, key),
            None => Ok(None),
        }
    }

    /// The booking transaction's update of the hold: confirmed, and the
    /// attempt closed as booked by `payment_id`. `last_open`: no other
    /// attempt is open (as last read), so the hold leaves the sweeper's
    /// index, conditioned on that still being so; a refusal returns the
    /// hold as it is.
    pub(crate) fn hold_booked_item(
        &self,
        hold: &Hold,
        attempt: &PaymentAttempt,
        payment_id: &str,
        last_open: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let (pk, sk) = keys::hold(&hold.id);
        let mut expression = "SET #status = :confirmed, payments.#k.#status = :booked, \
             payments.#k.payment_id = :payment ADD open_payments :minus_one"
            .to_owned();
        let mut condition = "#status = :active AND payments.#k.#status = :charging".to_owned();
        let mut update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .expression_attribute_names("#k", &attempt.key)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":confirmed", s("confirmed"))
            .expression_attribute_values(":booked", s("booked"))
            .expression_attribute_values(":payment", s(payment_id))
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":charging", s("charging"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if last_open {
            expression.push_str(" REMOVE GSI2PK, GSI2SK");
            condition.push_str(" AND open_payments = :one");
            update = update.expression_attribute_values(":one", n(1));
        }
        let update = update
            .update_expression(expression)
            .condition_expression(condition)
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Closes an open attempt (refunded, declined, or booked when the
    /// sweeper finds a retry booked it). False when it was closed already
    /// (by a retry of the same request, or the sweeper). The hold leaves
    /// the sweeper's index once no attempt on it is open.
    pub async fn close_payment(
        &self,
        attempt: &PaymentAttempt,
        to: AttemptStatus,
        payment_id: Option<&str>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut set = vec!["payments.#k.#status = :to"];
        if payment_id.is_some() {
            set.push("payments.#k.payment_id = :payment");
        }
        if error.is_some() {
            set.push("payments.#k.last_error = :error");
        }
        let mut update = attempt_update(self, attempt, &set, "open_payments :minus_one")
            .expression_attribute_values(":to", s(status_str(to)))
            .expression_attribute_values(":minus_one", n(-1));
        if let Some(id) = payment_id {
            update = update.expression_attribute_values(":payment", s(id));
        }
        if let Some(e) = error {
            update = update.expression_attribute_values(":error", s(e));
        }
        let update = update.return_values(ReturnValue::AllNew);
        let out = crate::retry::retrying("close_payment", || {
            let req = update.clone();
            async move {
                match req.send().await {
                    Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
                    Err(e) if is_condition_failure(&e) => Ok(None),
                    Err(e) => Err(StoreError::from(e)),
                }
            }
        })
        .await?;
        let Some(hold) = out else {
            return Ok(false);
        };
        if attr_n(&hold, "open_payments").unwrap_or(0) <= 0 {
            self.leave_open_index(&attempt.hold_id).await?;
        }
        Ok(true)
    }

    /// Takes a hold out of the sweeper's index if no attempt on it is open
    /// (nothing when one was begun meanwhile).
    async fn leave_open_index(&self, hold_id: &str) -> Result<(), StoreError> {
        let (pk, sk) = keys::hold(hold_id);
        let req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("REMOVE GSI2PK, GSI2SK")
            .condition_expression("open_payments <= :zero")
            .expression_attribute_values(":zero", n(0));
        crate::tx::written(req.send().await).map(drop)
    }

    /// An open attempt that could not be settled yet: try again later (the
    /// hold's place in the sweeper's index moves to then).
    pub async fn postpone_payment(
        &self,
        attempt: &PaymentAttempt,
        until: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        let set = [
            "payments.#k.settle_after = :at",
            "payments.#k.last_error = :error",
            "GSI2SK = :due",
        ];
        let req = attempt_update(self, attempt, &set, "payments.#k.settle_attempts :one")
            .expression_attribute_values(":at", s(evently_core::clock::rfc3339(until)))
            .expression_attribute_values(":due", s(due_key(until, &attempt.hold_id)))
            .expression_attribute_values(":error", s(error))
            .expression_attribute_values(":one", n(1));
        crate::tx::written(req.send().await).map(drop)
    }

    /// Open attempts whose request should have finished by `now`, with
    /// whether each is the last open one on its hold. A hold in the index
    /// with none open any more (booked by the sweeper, or by a confirm
    /// that met another card's attempt) leaves it here.
    pub async fn payments_due(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<PaymentAttempt>, StoreError> {
        let holds = self.query_all(self.due_query(OPEN_ATTEMPTS, now)).await?;
        let mut due = Vec::new();
        for hold in holds {
            let Ok(hold_id) = crate::attr_s(&hold, "id") else {
                continue;
            };
            let mut open = 0;
            if let Some(AttributeValue::M(map)) = hold.get("payments") {
                for value in map.values() {
                    let attempt = match attempt_from(&hold, value) {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::error!(hold = %hold_id, error = %e, "unreadable payment attempt");
                            continue;
                        }
                    };
                    if attempt.status != AttemptStatus::Charging {
                        continue;
                    }
                    open += 1;
                    if attempt.settle_after <= now {
                        due.push(attempt);
                    }
                }
            }
            if open == 0 {
                self.leave_open_index(hold_id).await?;
            }
        }
        Ok(due)
    }
}

fn is_condition_failure<E>(
    e: &aws_sdk_dynamodb::error::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|se| se.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}
