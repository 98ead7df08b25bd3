//! Counters of failed attempts (logins, registrations) per account and per
//! source address, in fixed windows that TTL deletes afterwards. A subject
//! over its limit is refused until its window ends.

use chrono::{DateTime, Utc};

use crate::tx::{n, s};
use crate::{attr_n, keys, Store, StoreError};

/// What is counted, and how much of it is allowed per window.
#[derive(Debug, Clone)]
pub struct Limit {
    /// What is counted, e.g. `login-ip#203.0.113.9`.
    pub subject: String,
    pub max_failures: u32,
    pub window_secs: i64,
}

impl Limit {
    fn window(&self, now: DateTime<Utc>) -> (i64, i64) {
        let secs = self.window_secs.max(1);
        let start = now.timestamp().div_euclid(secs) * secs;
        (start, start + secs)
    }
}

impl Store {
    /// Seconds until every exhausted limit's window ends, if one is
    /// exhausted: the caller answers 429 with that `Retry-After`.
    pub async fn throttled(
        &self,
        limits: &[Limit],
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let mut wait = None;
        for limit in limits {
            let (start, end) = limit.window(now);
            let Some(item) = self.get_item(keys::throttle(&limit.subject, start)).await? else {
                continue;
            };
            if attr_n(&item, "failures").unwrap_or(0) >= i64::from(limit.max_failures) {
                let left = (end - now.timestamp()).max(1);
                wait = Some(wait.map_or(left, |w: i64| w.max(left)));
            }
        }
        Ok(wait)
    }

    /// Counts one failure against every limit.
    pub async fn count_failure(
        &self,
        limits: &[Limit],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for limit in limits {
            let (start, end) = limit.window(now);
            let (pk, sk) = keys::throttle(&limit.subject, start);
            self.client
                .update_item()
                .table_name(&self.table)
                .key(keys::PK, s(pk))
                .key(keys::SK, s(sk))
                .update_expression("ADD failures :one SET #ttl = :ttl, entity = :entity")
                .expression_attribute_names("#ttl", keys::TTL)
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":ttl", n(end + 60))
                .expression_attribute_values(":entity", s("throttle"))
                .send()
                .await?;
        }
        Ok(())
    }
}
