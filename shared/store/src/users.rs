use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use evently_core::User;

use crate::tx::{build_err, commit, n, s, TxError};
use crate::{attr_s, keys, Store, StoreError};

/// An account as a login or a password change sees it.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: User,
    pub password_hash: String,
    /// How many times its password has changed: access tokens carry the
    /// version they were issued under and stop working when it moves on.
    pub token_version: u64,
}

/// A password reset link as recorded (see `keys::password_reset`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordReset {
    pub user_id: String,
    pub expires_at: i64,
    pub used: bool,
}

fn account_of(item: HashMap<String, AttributeValue>) -> Result<Account, StoreError> {
    let password_hash = attr_s(&item, "password_hash")?.to_owned();
    let token_version = version_of(&item);
    Ok(Account {
        user: serde_dynamo::from_item(item)?,
        password_hash,
        token_version,
    })
}

fn version_of(item: &HashMap<String, AttributeValue>) -> u64 {
    match item.get("token_version") {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
        _ => 0,
    }
}

/// `token_version` is `version` (absent counts as 0: accounts from before
/// versions, and every account until its first password change).
fn version_is(version: u64) -> &'static str {
    if version == 0 {
        "attribute_exists(PK) AND (attribute_not_exists(token_version) OR token_version = :ver)"
    } else {
        "token_version = :ver"
    }
}

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
    pub async fn find_login(&self, email: &str) -> Result<Option<Account>, StoreError> {
        let Some(claim) = self.get_item(keys::email(email)).await? else {
            return Ok(None);
        };
        let user_id = attr_s(&claim, "user_id")?.to_owned();
        self.account(&user_id).await
    }

    /// The account with its password hash and token version.
    pub async fn account(&self, user_id: &str) -> Result<Option<Account>, StoreError> {
        self.get_item(keys::user(user_id))
            .await?
            .map(account_of)
            .transpose()
    }

    /// The account's token version, None if there is no such account. An
    /// eventually consistent read of two attributes (half a read unit): a
    /// password change reaches it within about a second.
    pub async fn token_version(&self, user_id: &str) -> Result<Option<u64>, StoreError> {
        let (pk, sk) = keys::user(user_id);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .projection_expression("PK, token_version")
            .send()
            .await?;
        Ok(out.item.as_ref().map(version_of))
    }

    /// A transaction item that holds only while `user_id`'s token version
    /// is still `version` (the caller's session is current).
    pub(crate) fn session_check(
        &self,
        user_id: &str,
        version: u64,
    ) -> Result<TransactWriteItem, StoreError> {
        let (pk, sk) = keys::user(user_id);
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .condition_expression(version_is(version))
            .expression_attribute_values(":ver", n(version))
            // Its old item tells this refusal apart from the others
            // (`tx::session_refused`).
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    fn password_update(&self, account: &Account, new_hash: &str) -> Result<Update, StoreError> {
        let (pk, sk) = keys::user(&account.user.id);
        Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET password_hash = :new, token_version = :next")
            .condition_expression(format!(
                "password_hash = :old AND ({})",
                version_is(account.token_version)
            ))
            .expression_attribute_values(":new", s(new_hash))
            .expression_attribute_values(":old", s(&account.password_hash))
            .expression_attribute_values(":ver", n(account.token_version))
            .expression_attribute_values(":next", n(account.token_version + 1))
            .build()
            .map_err(build_err)
    }

    /// Sets a new password hash and moves the token version on (every
    /// access token issued before stops working), if the account is still
    /// as `account` was read: false when another change came first.
    pub async fn change_password(
        &self,
        account: &Account,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        let req = self.client.transact_write_items().transact_items(
            TransactWriteItem::builder()
                .update(self.password_update(account, new_hash)?)
                .build(),
        );
        crate::tx::committed(req).await
    }

    /// Records a reset link's token (by its hash) for `user_id`, usable
    /// until `expires_at` (epoch seconds; DynamoDB deletes the record a day
    /// later), and the email carrying it, in one transaction: the stream
    /// hands the email to the waitlist worker, the sweeper retries it.
    pub async fn start_password_reset(
        &self,
        token_hash: &str,
        user_id: &str,
        expires_at: i64,
        note: &evently_core::Notification,
    ) -> Result<(), StoreError> {
        let (pk, sk) = keys::password_reset(token_hash);
        let record = Put::builder()
            .table_name(&self.table)
            .item(keys::PK, s(pk))
            .item(keys::SK, s(sk))
            .item("entity", s("password_reset"))
            .item("user_id", s(user_id))
            .item("expires_at", n(expires_at))
            .item(keys::TTL, n(expires_at + 86_400))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_err)?;
        let req = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(record).build())
            .transact_items(crate::offers::notification_put(self, note)?);
        match commit(req).await {
            Ok(()) => Ok(()),
            Err(TxError::Refused(_)) => Err(StoreError::Backend(
                "a password reset token was drawn twice".into(),
            )),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    pub async fn password_reset(
        &self,
        token_hash: &str,
    ) -> Result<Option<PasswordReset>, StoreError> {
        let Some(item) = self.get_item(keys::password_reset(token_hash)).await? else {
            return Ok(None);
        };
        Ok(Some(PasswordReset {
            user_id: attr_s(&item, "user_id")?.to_owned(),
            expires_at: crate::attr_n(&item, "expires_at")?,
            used: item.contains_key("used_at"),
        }))
    }

    /// Uses the reset link (once, before it expires) and sets the new
    /// password in one transaction; false when the link was used or
    /// expired meanwhile, or the account changed since it was read.
    pub async fn finish_password_reset(
        &self,
        token_hash: &str,
        account: &Account,
        new_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (pk, sk) = keys::password_reset(token_hash);
        let use_link = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET used_at = :now")
            .condition_expression(
                "attribute_exists(PK) AND attribute_not_exists(used_at) AND expires_at > :now AND user_id = :user",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":user", s(&account.user.id))
            .build()
            .map_err(build_err)?;
        let req = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(use_link).build())
            .transact_items(
                TransactWriteItem::builder()
                    .update(self.password_update(account, new_hash)?)
                    .build(),
            );
        crate::tx::committed(req).await
    }
}
