//! Named locks with a lease, for jobs that must not run twice at once (the
//! sweeper). A holder that dies leaves its lock behind only until the
//! lease ends.

use chrono::{DateTime, Utc};

use crate::tx::{n, s, written};
use crate::{keys, Store, StoreError};

impl Store {
    /// Takes lock `name` for `owner` until `now + lease_secs`; false when
    /// someone else holds it and their lease has not ended.
    pub async fn take_lock(
        &self,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease_secs: i64,
    ) -> Result<bool, StoreError> {
        let (pk, sk) = keys::lock(name);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(pk))
            .item(keys::SK, s(sk))
            .item("entity", s("lock"))
            .item("holder", s(owner))
            .item("lease_until", n(now.timestamp() + lease_secs))
            .item(keys::TTL, n(now.timestamp() + lease_secs + 3600))
            .condition_expression("attribute_not_exists(PK) OR lease_until < :now OR holder = :me")
            .expression_attribute_values(":now", n(now.timestamp()))
            .expression_attribute_values(":me", s(owner));
        written(put.send().await)
    }

    /// Gives lock `name` back, if `owner` still holds it.
    pub async fn release_lock(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        let (pk, sk) = keys::lock(name);
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", s(owner))
            .send()
            .await;
        written(result).map(drop)
    }
}
