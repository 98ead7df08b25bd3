//! Idempotency records: the first response to a request made with an
//! `Idempotency-Key`, kept 24 h, so a retry gets that response instead of
//! doing the work again.

use chrono::{DateTime, Utc};

use crate::tx::{n, s};
use crate::{attr_n, attr_s, keys, Store, StoreError};

pub const IDEMPOTENCY_WINDOW_SECS: i64 = 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// First use of the key: do the work, then `finish_idempotent`.
    Started,
    /// Done before with the same request: answer this.
    Replay { status: u16, body: String },
    /// The key was used for a different request.
    Mismatch,
    /// The first request with this key is still being worked on.
    InProgress,
}

impl Store {
    pub async fn begin_idempotent(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Begin, StoreError> {
        let (pk, sk) = keys::idempotency(scope, key);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(&pk))
            .item(keys::SK, s(&sk))
            .item("entity", s("idempotency"))
            .item("request_hash", s(request_hash))
            .item("state", s("in_progress"))
            .item("created_at_epoch", n(now.timestamp()))
            .item(keys::TTL, n(now.timestamp() + IDEMPOTENCY_WINDOW_SECS))
            // A record older than the window counts as gone even if TTL has
            // not deleted it yet.
            .condition_expression("attribute_not_exists(PK) OR created_at_epoch < :cutoff")
            .expression_attribute_values(":cutoff", n(now.timestamp() - IDEMPOTENCY_WINDOW_SECS))
            .send()
            .await;
        match result {
            Ok(_) => return Ok(Begin::Started),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) => {}
            Err(e) => return Err(e.into()),
        }
        let Some(item) = self.get_item((pk, sk)).await? else {
            // Deleted between our write and read (abandoned): the caller may retry.
            return Ok(Begin::InProgress);
        };
        if attr_s(&item, "request_hash")? != request_hash {
            return Ok(Begin::Mismatch);
        }
        if attr_s(&item, "state")? != "done" {
            return Ok(Begin::InProgress);
        }
        Ok(Begin::Replay {
            status: attr_n(&item, "status")? as u16,
            body: attr_s(&item, "body")?.to_owned(),
        })
    }

    pub async fn finish_idempotent(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        let (pk, sk) = keys::idempotency(scope, key);
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET #state = :done, #status = :status, body = :body")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":status", n(status))
            .expression_attribute_values(":body", s(body))
            .send()
            .await?;
        Ok(())
    }

    /// Forgets a key whose work failed on our side, so a retry can redo it.
    pub async fn abandon_idempotent(&self, scope: &str, key: &str) -> Result<(), StoreError> {
        self.delete_item(keys::idempotency(scope, key)).await
    }
}
