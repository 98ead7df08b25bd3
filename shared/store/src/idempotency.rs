//! Idempotency records: the first response to a request made with an
//! `Idempotency-Key`, kept 24 h, so a retry gets that response instead of
//! doing the work again.
//!
//! A record is claimed by one request (`owner`, random per request) for a
//! lease as long as that request can run. A request that dies (timeout,
//! crash) leaves its claim behind; once the lease has passed, a retry with
//! the same key and request takes over and is told it is `recovering`: the
//! work may be partly done, and the handler must find out rather than
//! assume. A request that failed on our side (a 5xx: its outcome unknown)
//! gives its claim up at once, and the retry is recovering too. Every write
//! is conditioned on the owner, so a request that outlived its lease cannot
//! overwrite its successor's answer.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use crate::tx::{n, s, written};
use crate::{attr_n, attr_s, keys, Store, StoreError};

pub const IDEMPOTENCY_WINDOW_SECS: i64 = 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// This request owns the key: do the work, then `finish_idempotent`.
    /// `recovering`: an earlier request with this key and body started and
    /// never finished.
    Started { recovering: bool },
    /// Done before with the same request: answer this.
    Replay { status: u16, body: String },
    /// The key was used for a different request.
    Mismatch,
    /// The first request with this key is still being worked on; its claim
    /// lapses in `retry_after_secs` at the latest.
    InProgress { retry_after_secs: i64 },
}

/// Who claims a key, for how long.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    pub scope: &'a str,
    pub key: &'a str,
    /// Identifies this request (random).
    pub owner: &'a str,
    pub request_hash: &'a str,
}

impl Store {
    pub async fn begin_idempotent(
        &self,
        claim: &Claim<'_>,
        now: DateTime<Utc>,
        lease_secs: i64,
    ) -> Result<Begin, StoreError> {
        let key = keys::idempotency(claim.scope, claim.key);
        let now_s = now.timestamp();
        // A fresh claim: the key was never used, or longer ago than the
        // window (TTL may not have deleted the record yet).
        let fresh = self
            .claim_put(claim, now_s, lease_secs, false)
            .condition_expression("attribute_not_exists(PK) OR created_at_epoch < :cutoff")
            .expression_attribute_values(":cutoff", n(now_s - IDEMPOTENCY_WINDOW_SECS))
            .send()
            .await;
        if written(fresh)? {
            return Ok(Begin::Started { recovering: false });
        }
        let mut item = self.get_item(key.clone()).await?;
        // Taking over from a request with the same body that gave up (a
        // 5xx) or whose lease ran out: conditioned on that very request
        // still holding it, so of two retries only one takes over.
        if let Some(held) = &item {
            let lapsed = attr_s(held, "state").ok() == Some("in_progress")
                && attr_n(held, "lease_until").unwrap_or(i64::MAX) < now_s
                && attr_s(held, "request_hash").ok() == Some(claim.request_hash);
            if lapsed {
                let takeover = self
                    .claim_put(claim, now_s, lease_secs, true)
                    .condition_expression("#owner = :previous AND lease_until < :now")
                    .expression_attribute_names("#owner", "owner")
                    .expression_attribute_values(
                        ":previous",
                        s(attr_s(held, "owner").unwrap_or_default()),
                    )
                    .expression_attribute_values(":now", n(now_s))
                    .send()
                    .await;
                if written(takeover)? {
                    return Ok(Begin::Started { recovering: true });
                }
                item = self.get_item(key).await?;
            }
        }
        let Some(item) = item else {
            // Gone between our write and read: the caller may retry.
            return Ok(Begin::InProgress {
                retry_after_secs: 1,
            });
        };
        if attr_s(&item, "owner").ok() == Some(claim.owner) {
            // Our own write, answered late and retried by the SDK: the
            // record says whether it was a takeover.
            let recovering = matches!(item.get("recovering"), Some(AttributeValue::Bool(true)));
            return Ok(Begin::Started { recovering });
        }
        recorded_answer(&item, claim.request_hash, now_s, lease_secs)
    }

    /// The record of a claim in progress (its condition still to add).
    fn claim_put(
        &self,
        claim: &Claim<'_>,
        now_s: i64,
        lease_secs: i64,
        recovering: bool,
    ) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
        let (pk, sk) = keys::idempotency(claim.scope, claim.key);
        self.client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(pk))
            .item(keys::SK, s(sk))
            .item("entity", s("idempotency"))
            .item("request_hash", s(claim.request_hash))
            .item("state", s("in_progress"))
            .item("owner", s(claim.owner))
            .item("recovering", AttributeValue::Bool(recovering))
            .item("created_at_epoch", n(now_s))
            .item("lease_until", n(now_s + lease_secs))
            .item(keys::TTL, n(now_s + IDEMPOTENCY_WINDOW_SECS))
    }

    /// Records the answer. Does nothing when another request has taken the
    /// key over meanwhile (this one outlived its lease).
    pub async fn finish_idempotent(
        &self,
        claim: &Claim<'_>,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        let (pk, sk) = keys::idempotency(claim.scope, claim.key);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET #state = :done, #status = :status, body = :body")
            .condition_expression("#owner = :me")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":status", n(status))
            .expression_attribute_values(":body", s(body))
            .expression_attribute_values(":me", s(claim.owner))
            .send()
            .await;
        written(result).map(drop)
    }

    /// Gives up the key after work that failed on our side: the lease ends
    /// now, so a retry may start at once, and it is told it is recovering
    /// (the failed attempt may have done part of the work). Nothing when
    /// another request owns the key by now.
    pub async fn abandon_idempotent(&self, claim: &Claim<'_>) -> Result<(), StoreError> {
        let (pk, sk) = keys::idempotency(claim.scope, claim.key);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET lease_until = :gone")
            .condition_expression("#owner = :me")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":me", s(claim.owner))
            .expression_attribute_values(":gone", n(0))
            .send()
            .await;
        written(result).map(drop)
    }
}

/// A keyed request's answer written inside the operation's own
/// transaction (an operation that is one transaction and whose answer is
/// known before it commits, like a hold): one round trip instead of a
/// claim, the work and a record of the answer. The key is then never "in
/// progress": either the transaction committed with its answer, or nothing
/// was written and a retry simply does the work.
#[derive(Debug, Clone)]
pub struct Answer<'a> {
    pub scope: &'a str,
    pub key: &'a str,
    pub request_hash: &'a str,
    pub status: u16,
    pub body: String,
}

impl Store {
    /// The transaction item that records `answer`, unless the key was used
    /// within the window (then the item's condition fails and returns the
    /// record, for `recorded_answer`).
    /// The answer recorded under a key (within the window), as it bears on
    /// a request with `request_hash`: None when the key has none.
    pub async fn recorded_answer(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Begin>, StoreError> {
        let now_s = now.timestamp();
        match self.get_item(keys::idempotency(scope, key)).await? {
            Some(record)
                if attr_n(&record, "created_at_epoch").unwrap_or(0)
                    >= now_s - IDEMPOTENCY_WINDOW_SECS =>
            {
                recorded_answer(&record, request_hash, now_s, IDEMPOTENCY_WINDOW_SECS).map(Some)
            }
            _ => Ok(None),
        }
    }

    pub(crate) fn answer_tx(
        &self,
        answer: &Answer<'_>,
        now: DateTime<Utc>,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        let (pk, sk) = keys::idempotency(answer.scope, answer.key);
        let now_s = now.timestamp();
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .item(keys::PK, s(pk))
            .item(keys::SK, s(sk))
            .item("entity", s("idempotency"))
            .item("request_hash", s(answer.request_hash))
            .item("state", s("done"))
            .item("status", n(answer.status))
            .item("body", s(&answer.body))
            .item("created_at_epoch", n(now_s))
            .item(keys::TTL, n(now_s + IDEMPOTENCY_WINDOW_SECS))
            .condition_expression("attribute_not_exists(PK) OR created_at_epoch < :cutoff")
            .expression_attribute_values(":cutoff", n(now_s - IDEMPOTENCY_WINDOW_SECS))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .build()
            .map_err(crate::tx::build_err)?;
        Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .put(put)
            .build())
    }
}

/// What the record of a key used before says to a request with
/// `request_hash`: another request (mismatch), the same one still running
/// (retry within `max_wait` seconds), or the same one done (replay). For a
/// claim met by `begin_idempotent` and for the record a failed `answer_tx`
/// condition returns.
pub(crate) fn recorded_answer(
    record: &std::collections::HashMap<String, AttributeValue>,
    request_hash: &str,
    now_s: i64,
    max_wait: i64,
) -> Result<Begin, StoreError> {
    if attr_s(record, "request_hash")? != request_hash {
        return Ok(Begin::Mismatch);
    }
    if attr_s(record, "state")? != "done" {
        let until = attr_n(record, "lease_until").unwrap_or(now_s + 1);
        return Ok(Begin::InProgress {
            retry_after_secs: (until - now_s).clamp(1, max_wait.max(1)),
        });
    }
    Ok(Begin::Replay {
        status: attr_n(record, "status")? as u16,
        body: attr_s(record, "body")?.to_owned(),
    })
}
