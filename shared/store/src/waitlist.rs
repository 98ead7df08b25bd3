//! Waitlist entries, in FIFO order within their event's partition, plus a
//! per-user guard item that keeps one active entry per user per event.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use evently_core::{EntryStatus, Notification, WaitlistEntry};

use crate::tx::{build_err, commit, committed, s, TxError};
use crate::{attr_s, keys, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("already in line for this event")]
    AlreadyActive,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn status_str(status: EntryStatus) -> &'static str {
    match status {
        EntryStatus::Waiting => "waiting",
        EntryStatus::Offered => "offered",
        EntryStatus::Booked => "booked",
        EntryStatus::Expired => "expired",
        EntryStatus::Left => "left",
        EntryStatus::Closed => "closed",
    }
}

fn entry_item(entry: &WaitlistEntry) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let mut item = crate::entity_item(
        entry,
        keys::event_waitlist(&entry.event_id),
        keys::waitlist_entry_sk(&entry.id),
        "waitlist_entry",
    )?;
    item.insert(keys::GSI1PK.into(), s(keys::user_waitlist(&entry.user_id)));
    item.insert(
        keys::GSI1SK.into(),
        s(format!("{}#{}", entry.event_id, entry.id)),
    );
    Ok(item)
}

/// The events one process knows to have a waitlist (`keys::waitlist_opened`
/// is written, and it is never removed): a join writes the marker only
/// when this process has not seen it yet, so a rush of joins does not make
/// every join's transaction write (and meet the others on) one item.
#[derive(Debug, Default)]
pub(crate) struct Waitlisted(std::sync::Mutex<std::collections::HashSet<String>>);

/// Events remembered before the set starts over.
const WAITLISTED_ENTRIES: usize = 10_000;

impl Waitlisted {
    pub(crate) fn knows(&self, event_id: &str) -> bool {
        let set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        set.contains(event_id)
    }

    pub(crate) fn learn(&self, event_id: &str) {
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if set.len() >= WAITLISTED_ENTRIES {
            set.clear();
        }
        set.insert(event_id.to_owned());
    }
}

impl Store {
    /// The marker that `event_id` has a waitlist (an unconditional put: it
    /// only ever says yes).
    fn waitlist_opened_put(&self, event_id: &str) -> Result<TransactWriteItem, StoreError> {
        let (pk, sk) = keys::waitlist_opened(event_id);
        let put = Put::builder()
            .table_name(&self.table)
            .item(keys::PK, s(pk))
            .item(keys::SK, s(sk))
            .item("entity", s("waitlist_opened"))
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A check, for a cancellation releasing seats to the public, that
    /// `event_id` has never had a waitlist.
    pub(crate) fn no_waitlist_check(
        &self,
        event_id: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let (pk, sk) = keys::waitlist_opened(event_id);
        let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Puts the user in line: the entry and the user's guard in one
    /// transaction, refused while the user has an active entry. The
    /// event's waitlist marker goes in the same transaction (until this
    /// process has written it once), so no cancellation after the join can
    /// give seats to the public without the waitlist worker seeing them.
    pub async fn join_waitlist(&self, entry: &WaitlistEntry) -> Result<(), JoinError> {
        let put_entry = Put::builder()
            .table_name(&self.table)
            .set_item(Some(entry_item(entry)?))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_err)?;
        let (gpk, gsk) = keys::waitlist_guard(&entry.user_id, &entry.event_id);
        let put_guard = Put::builder()
            .table_name(&self.table)
            .item(keys::PK, s(gpk))
            .item(keys::SK, s(gsk))
            .item("entity", s("waitlist_guard"))
            .item("entry_id", s(&entry.id))
            .item("status", s(status_str(entry.status)))
            .condition_expression(
                "attribute_not_exists(PK) OR NOT (#status IN (:waiting, :offered))",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":waiting", s("waiting"))
            .expression_attribute_values(":offered", s("offered"))
            .build()
            .map_err(build_err)?;
        let req = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_entry).build())
            .transact_items(TransactWriteItem::builder().put(put_guard).build());
        let marking = !self.waitlisted.knows(&entry.event_id);
        let req = if marking {
            req.transact_items(self.waitlist_opened_put(&entry.event_id)?)
        } else {
            req
        };
        match commit(req).await {
            Ok(()) => {
                if marking {
                    self.waitlisted.learn(&entry.event_id);
                }
                Ok(())
            }
            Err(TxError::Refused(_)) => Err(JoinError::AlreadyActive),
            Err(TxError::Store(e)) => Err(e.into()),
        }
    }

    /// Every waitlist entry the user ever had, of every event (one Query
    /// of the user's partition of GSI1).
    pub async fn user_entries(&self, user_id: &str) -> Result<Vec<WaitlistEntry>, StoreError> {
        self.query_as(self.index_query(keys::GSI1, keys::user_waitlist(user_id)))
            .await
    }

    /// The user's latest entry for the event, active or not.
    pub async fn user_entry(
        &self,
        user_id: &str,
        event_id: &str,
    ) -> Result<Option<WaitlistEntry>, StoreError> {
        let Some(guard) = self
            .get_item(keys::waitlist_guard(user_id, event_id))
            .await?
        else {
            return Ok(None);
        };
        let entry_id = attr_s(&guard, "entry_id")?;
        let key = (
            keys::event_waitlist(event_id),
            keys::waitlist_entry_sk(entry_id),
        );
        match self.get_item(key).await? {
            Some(item) => Ok(Some(serde_dynamo::from_item(item)?)),
            None => Ok(None),
        }
    }

    /// 1-based place among the entries still waiting: a keyed count of the
    /// waiting entries that joined earlier, never a scan.
    pub async fn waitlist_position(&self, entry: &WaitlistEntry) -> Result<u32, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK < :mine")
            .filter_expression("#status = :waiting")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pk", s(keys::event_waitlist(&entry.event_id)))
            .expression_attribute_values(":mine", s(keys::waitlist_entry_sk(&entry.id)))
            .expression_attribute_values(":waiting", s("waiting"))
            .consistent_read(true);
        Ok(self.query_count(query).await? + 1)
    }

    /// The entries of an event still waiting, first come first.
    fn waiting_query(&self, event_id: &str) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .filter_expression("#status = :waiting")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pk", s(keys::event_waitlist(event_id)))
            .expression_attribute_values(":waiting", s("waiting"))
            .consistent_read(true)
    }

    /// The entries still waiting for an event, first come first.
    pub async fn waiting_entries(&self, event_id: &str) -> Result<Vec<WaitlistEntry>, StoreError> {
        self.query_as(self.waiting_query(event_id)).await
    }

    /// Entries still in line (waiting or holding an offer), first come first.
    pub async fn active_entries(&self, event_id: &str) -> Result<Vec<WaitlistEntry>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .filter_expression("#status IN (:waiting, :offered)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pk", s(keys::event_waitlist(event_id)))
            .expression_attribute_values(":waiting", s("waiting"))
            .expression_attribute_values(":offered", s("offered"))
            .consistent_read(true);
        self.query_as(query).await
    }

    /// Every entry of an event's waitlist in line order, whatever its status.
    pub async fn event_entries(&self, event_id: &str) -> Result<Vec<WaitlistEntry>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(keys::event_waitlist(event_id)));
        self.query_as(query).await
    }

    /// A waiting entry closed by its event's cancellation, with the
    /// notification telling its user, in one transaction; false when it had
    /// already left the waiting state.
    pub async fn close_entry(
        &self,
        entry: &WaitlistEntry,
        note: &Notification,
    ) -> Result<bool, StoreError> {
        let mut req = self.client.transact_write_items();
        for item in entry_transition(self, entry, "waiting", "closed", None)? {
            req = req.transact_items(item);
        }
        req = req.transact_items(crate::offers::notification_put(self, note)?);
        committed(req).await
    }

    /// Whether anyone is waiting for this event.
    /// Moves an entry (and its guard) from one status to another; false when
    /// it was no longer in `from`.
    pub async fn set_entry_status(
        &self,
        entry: &WaitlistEntry,
        from: EntryStatus,
        to: EntryStatus,
    ) -> Result<bool, StoreError> {
        let mut req = self.client.transact_write_items();
        for item in entry_transition(self, entry, status_str(from), status_str(to), None)? {
            req = req.transact_items(item);
        }
        committed(req).await
    }
}

/// An entry's status change with its guard's, both conditioned on `from`
/// (and the guard on still pointing at this entry); `claim_token` is
/// recorded on the entry when an offer is made.
pub(crate) fn entry_transition(
    store: &Store,
    entry: &WaitlistEntry,
    from: &str,
    to: &str,
    claim_token: Option<&str>,
) -> Result<[TransactWriteItem; 2], StoreError> {
    let mut own = Update::builder()
        .table_name(&store.table)
        .key(keys::PK, s(keys::event_waitlist(&entry.event_id)))
        .key(keys::SK, s(keys::waitlist_entry_sk(&entry.id)))
        .update_expression(if claim_token.is_some() {
            "SET #status = :to, claim_token = :token"
        } else {
            "SET #status = :to"
        })
        .condition_expression("#status = :from")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":to", s(to))
        .expression_attribute_values(":from", s(from));
    if let Some(token) = claim_token {
        own = own.expression_attribute_values(":token", s(token));
    }
    let own = own.build().map_err(build_err)?;
    let (gpk, gsk) = keys::waitlist_guard(&entry.user_id, &entry.event_id);
    let guard = Update::builder()
        .table_name(&store.table)
        .key(keys::PK, s(gpk))
        .key(keys::SK, s(gsk))
        .update_expression("SET #status = :to")
        .condition_expression("#status = :from AND entry_id = :entry")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":to", s(to))
        .expression_attribute_values(":from", s(from))
        .expression_attribute_values(":entry", s(&entry.id))
        .build()
        .map_err(build_err)?;
    Ok([
        TransactWriteItem::builder().update(own).build(),
        TransactWriteItem::builder().update(guard).build(),
    ])
}
