//! Seat holds: one transaction over the seats, the hold item and the
//! holder's per-event guard. A seat can be taken when it is available or its
//! hold has expired (`hold_expires_at <= now`), whatever TTL has done.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use evently_core::{Hold, SeatId};

use crate::idempotency::{recorded_answer, Answer, IDEMPOTENCY_WINDOW_SECS};
use crate::seats::{reserved_index, SEAT_FREE_FILTER};
use crate::tx::{build_err, commit, committed, failure, n, old_item, s, TxError};
use crate::{attr_n, keys, Store, StoreError};

/// Seconds a hold item outlives its expiry before TTL may delete it, so a
/// late confirm still finds it and answers 410 rather than 404.
const HOLD_ITEM_GRACE_SECS: i64 = 24 * 3600;
/// Attempts when the holder's own guard changed underneath (the same user
/// holding in parallel).
const GUARD_ATTEMPTS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    /// Seats held or booked by someone else; `own_hold` is set when every
    /// conflicting seat is held by the requester under one hold (from the
    /// cancellation reasons' old items: no extra read).
    #[error("seats already taken: {seats:?}")]
    Conflict {
        seats: Vec<SeatId>,
        own_hold: Option<String>,
    },
    #[error("no such seats: {0:?}")]
    UnknownSeats(Vec<SeatId>),
    /// The request's Idempotency-Key was used before: replay, mismatch or
    /// still in progress, as its record says.
    #[error("idempotency key already used")]
    KeyUsed(crate::Begin),
    /// The event was cancelled (its sale gate is closed).
    #[error("the event is no longer on sale")]
    EventClosed,
    /// The access token was issued before the holder's password changed
    /// (the transaction's session check failed): nothing was held.
    #[error("the session has ended")]
    SessionEnded,
    #[error("holding {held} seats of this event already; at most {max} at once")]
    OverUserLimit { held: u32, max: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The holder's live holds for one event: hold id → (seats, expires_at).
#[derive(Debug, Default, Clone)]
pub(crate) struct Guard {
    version: Option<i64>,
    holds: HashMap<String, (u32, i64)>,
}

impl Guard {
    fn live_seats(&self, now: i64) -> u32 {
        self.holds
            .values()
            .filter(|(_, exp)| *exp > now)
            .map(|(n, _)| n)
            .sum()
    }
}

pub(crate) fn hold_item(hold: &Hold) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let (pk, sk) = keys::hold(&hold.id);
    let mut item = crate::entity_item(hold, pk, sk, "hold")?;
    item.insert("expires_at_epoch".into(), n(hold.expires_at.timestamp()));
    item.insert(
        keys::TTL.into(),
        n(hold.expires_at.timestamp() + HOLD_ITEM_GRACE_SECS),
    );
    crate::payments::no_payments(&mut item);
    Ok(item)
}

/// Where a hold's seats go when it ends early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeatRelease {
    /// Anyone may hold them again.
    ToPublic,
    /// Back to `reserved` for the next in line (`released_from` names the
    /// hold), as of `at`.
    ToWaitlist { at: DateTime<Utc> },
}

/// One update per seat: held by this hold → released, conditioned on the
/// seat still being this hold's.
pub(crate) fn release_seat_items(
    store: &Store,
    hold: &Hold,
    to: SeatRelease,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    hold.seat_ids
        .iter()
        .map(|seat| {
            let mut update = Update::builder()
                .table_name(&store.table)
                .key(
                    keys::PK,
                    s(keys::seat_row(&hold.event_id, seat)),
                )
                .key(keys::SK, s(keys::seat_sk(&seat.to_string())))
                .condition_expression("#status = :held AND hold_id = :hold")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":held", s("held"))
                .expression_attribute_values(":hold", s(&hold.id));
            update = match to {
                SeatRelease::ToPublic => update
                    .update_expression(
                        "SET #status = :to REMOVE hold_id, holder_id, hold_expires_at",
                    )
                    .expression_attribute_values(":to", s("available")),
                SeatRelease::ToWaitlist { at } => {
                    let (rpk, rsk) = reserved_index(
                        at,
                        &hold.event_id,
                        &hold.section_id,
                        &seat.to_string(),
                    );
                    update
                        .update_expression(
                            "SET #status = :to, released_from = :hold, GSI2PK = :rpk, GSI2SK = :rsk \
                             REMOVE hold_id, holder_id, hold_expires_at",
                        )
                        .expression_attribute_values(":to", s("reserved"))
                        .expression_attribute_values(":rpk", rpk)
                        .expression_attribute_values(":rsk", rsk)
                }
            };
            Ok(TransactWriteItem::builder()
                .update(update.build().map_err(build_err)?)
                .build())
        })
        .collect()
}

/// The items that take a hold off its holder's guard (confirm, release):
/// none for a waitlist offer, which never counted against the user's cap.
pub(crate) fn guard_release(
    store: &Store,
    hold: &Hold,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    if hold.offer.is_some() {
        return Ok(Vec::new());
    }
    guard_release_item(store, hold).map(|item| vec![item])
}

/// Removes a hold from its holder's guard; bumps the version so a
/// concurrent hold by the same user re-reads.
fn guard_release_item(store: &Store, hold: &Hold) -> Result<TransactWriteItem, StoreError> {
    let (pk, sk) = keys::hold_guard(&hold.user_id, &hold.event_id);
    let update = Update::builder()
        .table_name(&store.table)
        .key(keys::PK, s(pk))
        .key(keys::SK, s(sk))
        .update_expression("REMOVE holds.#hold SET version = version + :one")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_names("#hold", &hold.id)
        .expression_attribute_values(":one", n(1))
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// What this process last knew of holders' guards, so that a hold can
/// write the guard optimistically — in the same transaction as the seats,
/// without reading it first. A stale entry costs one more round trip (the
/// guard's condition fails and returns the guard as it is); it can never
/// let a user past the cap, because the write is conditioned on the
/// version it was computed from.
#[derive(Debug, Default)]
pub(crate) struct GuardCache(std::sync::Mutex<HashMap<(String, String), Guard>>);

/// Entries kept before the cache starts over (a Lambda instance serves far
/// fewer holders than this between cold starts).
const GUARD_CACHE_ENTRIES: usize = 10_000;

impl GuardCache {
    fn get(&self, user_id: &str, event_id: &str) -> Option<Guard> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&(user_id.to_owned(), event_id.to_owned())).cloned()
    }

    fn put(&self, user_id: &str, event_id: &str, guard: Guard) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= GUARD_CACHE_ENTRIES {
            map.clear();
        }
        map.insert((user_id.to_owned(), event_id.to_owned()), guard);
    }
}

fn guard_of(item: &HashMap<String, AttributeValue>) -> Result<Guard, StoreError> {
    let mut guard = Guard {
        version: Some(attr_n(item, "version")?),
        holds: HashMap::new(),
    };
    if let Some(AttributeValue::M(holds)) = item.get("holds") {
        for (id, entry) in holds {
            let AttributeValue::M(entry) = entry else {
                continue;
            };
            guard.holds.insert(
                id.clone(),
                (attr_n(entry, "seats")? as u32, attr_n(entry, "expires_at")?),
            );
        }
    }
    Ok(guard)
}

impl Store {
    async fn read_guard(&self, user_id: &str, event_id: &str) -> Result<Guard, StoreError> {
        let item = self.get_item(keys::hold_guard(user_id, event_id)).await?;
        item.as_ref().map_or(Ok(Guard::default()), guard_of)
    }

    /// Takes the hold's seats for its user, or reports exactly which seats
    /// were not free (from the transaction's cancellation reasons, not a
    /// second read). One round trip when this process knows the holder's
    /// guard (or the holder has none): the seats, the hold, the guard and,
    /// for a keyed request, its `answer` are one transaction.
    pub async fn create_hold(
        &self,
        hold: &Hold,
        now: DateTime<Utc>,
        max_per_user: u32,
        answer: Option<&Answer<'_>>,
        session: u64,
    ) -> Result<(), HoldError> {
        let now_s = now.timestamp();
        let exp_s = hold.expires_at.timestamp();
        let cached = self.guards.get(&hold.user_id, &hold.event_id);
        // Known for certain only when read (or returned by a failed
        // condition); the cache's view is an assumption.
        let mut certain = false;
        let mut guard = cached.unwrap_or_default();
        let seats = hold.seat_ids.len();
        for _ in 0..GUARD_ATTEMPTS {
            let mut held = guard.live_seats(now_s);
            if held + seats as u32 > max_per_user && !certain {
                guard = self.read_guard(&hold.user_id, &hold.event_id).await?;
                held = guard.live_seats(now_s);
            }
            if held + seats as u32 > max_per_user {
                return Err(HoldError::OverUserLimit {
                    held,
                    max: max_per_user,
                });
            }
            let mut req = self.client.transact_write_items();
            for seat in &hold.seat_ids {
                let update = Update::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::seat_row(&hold.event_id, seat)))
                    .key(keys::SK, s(keys::seat_sk(&seat.to_string())))
                    .update_expression(
                        "SET #status = :held, hold_id = :hold, holder_id = :user, hold_expires_at = :exp",
                    )
                    .condition_expression(format!("attribute_exists(PK) AND ({SEAT_FREE_FILTER})"))
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":available", s("available"))
                    .expression_attribute_values(":held", s("held"))
                    .expression_attribute_values(":now", n(now_s))
                    .expression_attribute_values(":exp", n(exp_s))
                    .expression_attribute_values(":hold", s(&hold.id))
                    .expression_attribute_values(":user", s(&hold.user_id))
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .build()
                    .map_err(build_err)?;
                req = req.transact_items(TransactWriteItem::builder().update(update).build());
            }
            req = req.transact_items(self.put_new_tx(hold_item(hold)?)?);

            // The guard: live entries plus this one, written only if nobody
            // changed it since the version it was computed from.
            let mut next = Guard {
                version: Some(guard.version.unwrap_or(0) + 1),
                holds: guard
                    .holds
                    .iter()
                    .filter(|(_, (_, exp))| *exp > now_s)
                    .map(|(id, entry)| (id.clone(), *entry))
                    .collect(),
            };
            next.holds.insert(hold.id.clone(), (seats as u32, exp_s));
            let entries: HashMap<String, AttributeValue> = next
                .holds
                .iter()
                .map(|(id, (n_seats, exp))| (id.clone(), guard_entry(*n_seats, *exp)))
                .collect();
            let (gpk, gsk) = keys::hold_guard(&hold.user_id, &hold.event_id);
            let mut guard_put = Put::builder()
                .table_name(&self.table)
                .item(keys::PK, s(gpk))
                .item(keys::SK, s(gsk))
                .item("entity", s("hold_guard"))
                .item("holds", AttributeValue::M(entries))
                .item("version", n(next.version.unwrap_or(1)))
                .item(keys::TTL, n(exp_s + HOLD_ITEM_GRACE_SECS))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            guard_put = match guard.version {
                Some(v) => guard_put
                    .condition_expression("version = :v")
                    .expression_attribute_values(":v", n(v)),
                None => guard_put.condition_expression("attribute_not_exists(PK)"),
            };
            req = req.transact_items(
                TransactWriteItem::builder()
                    .put(guard_put.build().map_err(build_err)?)
                    .build(),
            );
            // Still on sale: one shard of the event's sale gate, closed by
            // the cancellation's own transaction (the hold's copy of the
            // event may be a few seconds old).
            req = req.transact_items(self.event_on_sale(&hold.event_id, &hold.id)?);
            if let Some(answer) = answer {
                req = req.transact_items(self.answer_tx(answer, now)?);
            }
            // Last: the holder's access token is still current (no password
            // change since it was issued) — checked here rather than by a
            // read first, to keep the on-sale's hold at one round trip.
            req = req.transact_items(self.session_check(&hold.user_id, session)?);

            let reasons = match commit(req).await {
                Ok(()) => {
                    self.guards.put(&hold.user_id, &hold.event_id, next);
                    return Ok(());
                }
                Err(TxError::Store(e)) => return Err(e.into()),
                Err(TxError::Refused(reasons)) => reasons,
            };
            let failed_condition = |r: Option<&aws_sdk_dynamodb::types::CancellationReason>| {
                r.and_then(failure) == Some("ConditionalCheckFailed")
            };
            if failed_condition(reasons.last()) {
                return Err(HoldError::SessionEnded);
            }
            // The key was used before: its record decides the answer (a
            // replay of our own earlier success meets its own seats taken).
            if let Some(answer) = answer {
                let reason = reasons.get(seats + 3);
                if failed_condition(reason) {
                    let record = reason.and_then(old_item).cloned().unwrap_or_default();
                    return Err(HoldError::KeyUsed(recorded_answer(
                        &record,
                        answer.request_hash,
                        now_s,
                        IDEMPOTENCY_WINDOW_SECS,
                    )?));
                }
            }
            if failed_condition(reasons.get(seats + 2)) {
                return Err(HoldError::EventClosed);
            }
            let mut taken = Vec::new();
            let mut missing = Vec::new();
            let mut holders = Vec::new();
            for (seat, reason) in hold.seat_ids.iter().zip(&reasons) {
                match (failure(reason), old_item(reason)) {
                    (Some("ConditionalCheckFailed"), None) => missing.push(seat.clone()),
                    // A seat taken by someone (its old item says by whom).
                    (Some("ConditionalCheckFailed"), old) => {
                        taken.push(seat.clone());
                        let holder = old.and_then(|i| {
                            let mine = crate::attr_s(i, "holder_id").ok()? == hold.user_id;
                            mine.then(|| crate::attr_s(i, "hold_id").ok().map(str::to_owned))?
                        });
                        holders.push(holder);
                    }
                    // Fine, or merely caught in another transaction: only a
                    // failed condition says a seat is taken.
                    _ => {}
                }
            }
            if !missing.is_empty() {
                return Err(HoldError::UnknownSeats(missing));
            }
            if !taken.is_empty() {
                let own_hold = match holders.split_first() {
                    Some((Some(first), rest)) if rest.iter().all(|h| h.as_ref() == Some(first)) => {
                        Some(first.clone())
                    }
                    _ => None,
                };
                return Err(HoldError::Conflict {
                    seats: taken,
                    own_hold,
                });
            }
            if failed_condition(reasons.get(seats)) {
                return Err(StoreError::AlreadyExists(hold.id.clone()).into());
            }
            let guard_reason = reasons.get(seats + 1);
            if !failed_condition(guard_reason) {
                return Err(
                    StoreError::Backend(format!("transaction cancelled: {reasons:?}")).into(),
                );
            }
            // The guard is not what we assumed (the same user holding or
            // releasing meanwhile, or this process's view was stale): the
            // failed condition returned it as it is.
            guard = match guard_reason.and_then(old_item) {
                Some(item) => guard_of(item)?,
                None => Guard::default(),
            };
            certain = true;
        }
        Err(StoreError::Unavailable("hold guard kept changing; try again".into()).into())
    }

    pub async fn get_hold(&self, id: &str) -> Result<Option<Hold>, StoreError> {
        match self.get_item(keys::hold(id)).await? {
            Some(item) => Ok(Some(serde_dynamo::from_item(item)?)),
            None => Ok(None),
        }
    }

    /// Frees a live hold's seats and marks it released. Returns false when
    /// the hold was no longer active (someone else changed it first).
    /// `session`: the token version of the holder's session asking (a
    /// release by its owner), checked in the same transaction
    /// (`StoreError::SessionEnded` when it has ended).
    pub async fn release_hold(
        &self,
        hold: &Hold,
        session: Option<u64>,
    ) -> Result<bool, StoreError> {
        let mut req = self.client.transact_write_items();
        for item in release_seat_items(self, hold, SeatRelease::ToPublic)? {
            req = req.transact_items(item);
        }
        req = req.transact_items(self.hold_status_update(hold, "released")?);
        for item in guard_release(self, hold)? {
            req = req.transact_items(item);
        }
        if let Some(version) = session {
            req = req.transact_items(self.session_check(&hold.user_id, version)?);
        }
        committed(req).await
    }

    /// Marks an expired hold released without touching seats (they are free
    /// already, and may belong to someone else by now). `session` as for
    /// `release_hold`.
    pub async fn retire_hold(&self, hold: &Hold, session: Option<u64>) -> Result<bool, StoreError> {
        let mut req = self
            .client
            .transact_write_items()
            .transact_items(self.hold_status_update(hold, "released")?);
        for item in guard_release(self, hold)? {
            req = req.transact_items(item);
        }
        if let Some(version) = session {
            req = req.transact_items(self.session_check(&hold.user_id, version)?);
        }
        committed(req).await
    }

    /// `active` → `to`, conditioned on the hold still being active.
    pub(crate) fn hold_status_update(
        &self,
        hold: &Hold,
        to: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let (pk, sk) = keys::hold(&hold.id);
        let update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET #status = :to")
            .condition_expression("#status = :active")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(to))
            .expression_attribute_values(":active", s("active"))
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

fn guard_entry(seats: u32, expires_at: i64) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("seats".to_owned(), n(seats)),
        ("expires_at".to_owned(), n(expires_at)),
    ]))
}
