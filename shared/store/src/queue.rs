//! The waiting room's items: tickets spread over `QUEUE_SHARDS` shard
//! partitions, one place item per person, the admitter's state per event,
//! and the `QUEUES` partition that tells the admitter which events have a
//! line (the rules are evently_core's queue.rs; docs/data-model.md has the
//! keys).
//!
//! Join is one transaction of two items nobody else writes (the person's
//! place, only if they have none, and the ticket): concurrent joins share
//! no item, so they never conflict. Each admitter step numbers every
//! ticket that joined before `now - SETTLE` and after the last step's
//! bound, reading the shards from that bound (strongly consistent Queries
//! of the table, not an index): the same step repeated numbers the same
//! tickets the same way. A join whose write takes longer than the settle
//! time could land behind a bound already passed; the join function sees
//! that (its own clock) and joins again with a fresh time, and a ticket
//! left behind anyway (a crash in that window) reads as expired — joining
//! again gives a new one (`QueueState::standing`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use chrono::{DateTime, Utc};
use evently_core::queue::QUEUE_SHARDS;
use evently_core::{Admission, Event, EventStatus, QueueState, QueueTicket, TicketKey};
use serde::{Deserialize, Serialize};

use crate::tx::{build_err, n, old_item, s, written, TxError};
use crate::{attr_s, keys, Store, StoreError};

type Item = HashMap<String, AttributeValue>;

/// Tickets written at once (BatchWriteItem requests in flight) by a step.
const BATCHES_AT_ONCE: usize = 8;

/// An event with a waiting room, as the admitter lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMarker {
    pub event_id: String,
    pub starts_at: DateTime<Utc>,
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission: Option<Admission>,
}

impl QueueMarker {
    pub fn of(event: &Event) -> Self {
        Self {
            event_id: event.id.clone(),
            starts_at: event.starts_at,
            active: event.admission.is_some() && event.status != EventStatus::Cancelled,
            admission: event.admission.clone(),
        }
    }
}

/// What joining did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    New(QueueTicket),
    /// The person already has this ticket.
    Already(String),
}

/// What one admitter step did for one event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueueStep {
    pub numbered: u64,
    pub admitted: u64,
    /// Another step wrote the state first; this one's work is redone by
    /// the next (the same numbers for the same tickets).
    pub lost_race: bool,
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

impl Store {
    /// The `QUEUES` item of `event`, to be written with the event (same
    /// transaction) whenever it has or had a waiting room.
    pub(crate) fn queue_marker_tx(&self, event: &Event) -> Result<TransactWriteItem, StoreError> {
        let item = crate::entity_item(QueueMarker::of(event), keys::QUEUES, &event.id, "queue")?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Gives `user_id` a ticket in `event`'s line, or names the one they
    /// have. `replacing` is a ticket of theirs whose admission lapsed: it
    /// is swapped for a new one at the back of the line. `session`: the
    /// token version of the asking session, checked in the same
    /// transaction (`StoreError::SessionEnded`).
    pub async fn join_queue(
        &self,
        event: &Event,
        (user_id, session): (&str, u64),
        now: DateTime<Utc>,
        replacing: Option<&str>,
    ) -> Result<Joined, StoreError> {
        let (place_pk, place_sk) = keys::queue_place(&event.id, user_id);
        let ttl = (event.starts_at + chrono::Duration::days(1)).timestamp();
        // A taken ticket key (the same microsecond, shard and tiebreak)
        // draws again a microsecond later.
        for at in micros(now)..micros(now) + 3 {
            let key = TicketKey::new(rand::random::<u32>() % QUEUE_SHARDS, at, rand::random());
            let ticket = QueueTicket {
                id: key.id(),
                event_id: event.id.clone(),
                user_id: user_id.to_owned(),
                joined_at: now,
                number: None,
            };
            let (pk, sk) = keys::queue_ticket(&event.id, &key);
            let mut ticket_item = crate::entity_item(&ticket, pk, sk, "queue_ticket")?;
            ticket_item.insert(keys::TTL.into(), n(ttl));
            let mut place = Put::builder()
                .table_name(&self.table)
                .item(keys::PK, s(&place_pk))
                .item(keys::SK, s(&place_sk))
                .item("entity", s("queue_place"))
                .item("ticket_id", s(&ticket.id))
                .item(keys::TTL, n(ttl))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            place = match replacing {
                Some(old) => place
                    .condition_expression("attribute_not_exists(PK) OR ticket_id = :old")
                    .expression_attribute_values(":old", s(old)),
                None => place.condition_expression("attribute_not_exists(PK)"),
            };
            let req = self
                .client
                .transact_write_items()
                .transact_items(
                    TransactWriteItem::builder()
                        .put(place.build().map_err(build_err)?)
                        .build(),
                )
                .transact_items(self.put_new_tx(ticket_item)?)
                .transact_items(self.session_check(user_id, session)?);
            let reasons = match crate::tx::commit(req).await {
                Ok(()) => return Ok(Joined::New(ticket)),
                Err(TxError::Refused(reasons)) if crate::tx::session_refused(&reasons) => {
                    return Err(StoreError::SessionEnded)
                }
                Err(TxError::Refused(reasons)) => reasons,
                Err(TxError::Store(e)) => return Err(e),
            };
            if let Some(old) = reasons.first().and_then(old_item) {
                return Ok(Joined::Already(attr_s(old, "ticket_id")?.to_owned()));
            }
        }
        Err(StoreError::Unavailable(
            "the waiting room is busy; try again".into(),
        ))
    }

    /// A ticket by id, if it exists in `event_id`'s line.
    pub async fn queue_ticket(
        &self,
        event_id: &str,
        ticket_id: &str,
    ) -> Result<Option<QueueTicket>, StoreError> {
        let Some(key) = TicketKey::parse(ticket_id) else {
            return Ok(None);
        };
        let item = self.get_item(keys::queue_ticket(event_id, &key)).await?;
        item.map(|i| serde_dynamo::from_item(i).map_err(StoreError::from))
            .transpose()
    }

    /// The admitter's state of `event_id`'s line (empty before its first
    /// step). `consistent` for the admitter itself; readers of positions
    /// take an eventually consistent copy.
    pub async fn queue_state(
        &self,
        event_id: &str,
        consistent: bool,
    ) -> Result<QueueState, StoreError> {
        match self
            .read_item(keys::queue_state(event_id), consistent)
            .await?
        {
            Some(item) => Ok(serde_dynamo::from_item(item)?),
            None => Ok(QueueState::new(event_id)),
        }
    }

    /// Events whose waiting room is on.
    pub async fn active_queues(&self) -> Result<Vec<QueueMarker>, StoreError> {
        self.query_readable(
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .filter_expression("active = :yes")
                .expression_attribute_values(":pk", s(keys::QUEUES))
                .expression_attribute_values(":yes", AttributeValue::Bool(true)),
        )
        .await
    }

    /// Turns a line off for the admitter (its event has started).
    pub async fn retire_queue(&self, event_id: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::QUEUES))
            .key(keys::SK, s(event_id))
            .update_expression("SET active = :no")
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .send()
            .await?;
        Ok(())
    }

    /// One admitter step for one line at `now`: numbers every ticket that
    /// joined between the last step's bound and `now - SETTLE`, in join
    /// order across the shards, then admits what the rate allows.
    /// Deterministic from the state it read: a step cut short or repeated
    /// numbers the same tickets the same way.
    pub async fn queue_step(
        &self,
        marker: &QueueMarker,
        now: DateTime<Utc>,
    ) -> Result<QueueStep, StoreError> {
        use futures::{StreamExt, TryStreamExt};
        let Some(admission) = &marker.admission else {
            return Ok(QueueStep::default());
        };
        let event_id = &marker.event_id;
        let mut state = self.queue_state(event_id, true).await?;
        let read_version = state.version;
        let bound = TicketKey::bound(micros(now - evently_core::queue::settle()));
        let mut numbered = 0;
        if bound > state.numbered_below {
            let from = state.numbered_below.clone();
            let shards = futures::future::try_join_all(
                (0..QUEUE_SHARDS).map(|shard| self.tickets_between(event_id, shard, &from, &bound)),
            )
            .await?;
            let mut fresh: Vec<(String, u32, Item)> = shards
                .into_iter()
                .enumerate()
                .flat_map(|(shard, items)| {
                    items
                        .into_iter()
                        .map(move |(order, item)| (order, shard as u32, item))
                })
                .collect();
            fresh.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
            let items: Vec<Item> = fresh
                .into_iter()
                .enumerate()
                .map(|(i, (_, _, mut item))| {
                    item.insert("number".into(), n(state.numbered + i as u64 + 1));
                    item
                })
                .collect();
            numbered = items.len() as u64;
            let batches: Vec<Vec<Item>> = items.chunks(25).map(<[Item]>::to_vec).collect();
            futures::stream::iter(
                batches
                    .into_iter()
                    .map(|batch| async move { self.put_batch(batch).await }),
            )
            .buffer_unordered(BATCHES_AT_ONCE)
            .try_collect::<Vec<()>>()
            .await?;
            state.numbered += numbered;
            state.numbered_below = bound;
        }
        let admitted = state.admit(admission, now);
        state.version = read_version + 1;
        let (pk, sk) = keys::queue_state(event_id);
        let mut item = crate::entity_item(&state, pk, sk, "queue_state")?;
        item.insert(
            keys::TTL.into(),
            n((marker.starts_at + chrono::Duration::days(1)).timestamp()),
        );
        let saved = written(
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK) OR version = :v")
                .expression_attribute_values(":v", n(read_version))
                .send()
                .await,
        )?;
        Ok(QueueStep {
            numbered,
            admitted,
            lost_race: !saved,
        })
    }

    /// A shard's tickets with order keys in (`after`, `before`), in order.
    async fn tickets_between(
        &self,
        event_id: &str,
        shard: u32,
        after: &str,
        before: &str,
    ) -> Result<Vec<(String, Item)>, StoreError> {
        let items = self
            .query_all(
                self.client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
                    .expression_attribute_values(":pk", s(keys::queue_shard(event_id, shard)))
                    .expression_attribute_values(":from", s(keys::queue_ticket_sk(after)))
                    .expression_attribute_values(":to", s(keys::queue_ticket_sk(before)))
                    .consistent_read(true),
            )
            .await?;
        Ok(items
            .into_iter()
            .filter_map(|item| {
                let order = attr_s(&item, keys::SK).ok()?.strip_prefix("T#")?.to_owned();
                (order.as_str() > after && order.as_str() < before).then_some((order, item))
            })
            .collect())
    }
}
