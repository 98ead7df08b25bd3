use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use evently_core::User;

use crate::tx::{commit, s, TxError};
use crate::{attr_s, keys, Store, StoreError};

impl Store {
    /// Creates the account and claims its email in one transaction, so two
    /// registrations of one address cannot both succeed.
    pub async fn create_user(
        &self,
        user: &User,
        password_hash: &str,
        created_at: &str,
    ) -> Result<(), StoreError> {
        let (email_pk, email_sk) = keys::email(&user.email);
        let (user_pk, user_sk) = keys::user(&user.id);
        let claim = Put::builder()
            .table_name(&self.table)
            .item(keys::PK, s(email_pk))
            .item(keys::SK, s(email_sk))
            .item("entity", s("email"))
            .item("user_id", s(&user.id))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut item = crate::entity_item(user, user_pk, user_sk, "user")?;
        item.insert("password_hash".into(), s(password_hash));
        item.insert("created_at".into(), s(created_at));
        let profile = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let req = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(claim).build())
            .transact_items(TransactWriteItem::builder().put(profile).build());
        match commit(req).await {
            Ok(()) => Ok(()),
            // The email's claim is the first item; only its condition can fail
            // (the user id is new).
            Err(TxError::Refused(_)) => Err(StoreError::EmailTaken),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    /// One item, strongly consistent: whoever just wrote it (a hold, a
    /// booking, an entry) reads it back, which an eventually consistent read
    /// does not promise.
    pub(crate) async fn get_item(
        &self,
        key: (String, String),
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        self.read_item(key, true).await
    }

    /// One item, strongly consistent or not (an eventually consistent read
    /// costs half and may miss a write of the last second).
    pub(crate) async fn read_item(
        &self,
        (pk, sk): (String, String),
        consistent: bool,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .consistent_read(consistent)
            .send()
            .await?;
        Ok(out.item)
    }

    pub(crate) async fn delete_item(&self, (pk, sk): (String, String)) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .send()
            .await?;
        Ok(())
    }

    pub async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        match self.get_item(keys::user(id)).await? {
            Some(item) => Ok(Some(serde_dynamo::from_item(item)?)),
            None => Ok(None),
        }
    }

    /// The account and its password hash for a login attempt.
    pub async fn find_login(&self, email: &str) -> Result<Option<(User, String)>, StoreError> {
        let Some(claim) = self.get_item(keys::email(email)).await? else {
            return Ok(None);
        };
        let user_id = attr_s(&claim, "user_id")?.to_owned();
        let Some(item) = self.get_item(keys::user(&user_id)).await? else {
            return Ok(None);
        };
        let hash = attr_s(&item, "password_hash")?.to_owned();
        Ok(Some((serde_dynamo::from_item(item)?, hash)))
    }
}
