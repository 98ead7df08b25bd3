//! The DynamoDB adapter: one table, keys and access patterns documented in
//! docs/data-model.md. Every method is one access pattern; conditional
//! failures come back as typed `StoreError`s, never as strings to parse.

mod analytics;
mod bookings;
mod catalog;
mod error;
mod holds;
mod idempotency;
pub mod keys;
mod offers;
mod seats;
mod tx;
mod users;
mod venues;
mod waitlist;

use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_sdk_dynamodb::Client;

pub use analytics::{Applicable, EventCounters};
pub use bookings::{CancelOutcome, ConfirmError, ReleaseTo};
pub use catalog::{CatalogPage, CatalogQuery, Cursor};
pub use error::StoreError;
pub use holds::HoldError;
pub use idempotency::Begin;
pub use seats::SEAT_FREE_FILTER;
pub use venues::EventWriteError;
pub use waitlist::JoinError;

/// The single table. Cheap to clone: the SDK client is reference-counted.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

impl Store {
    /// Every item a query matches, following `LastEvaluatedKey` page by page.
    pub(crate) async fn query_all(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = query.clone().set_exclusive_start_key(start).send().await?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(items),
            }
        }
    }

    /// A transaction item that writes `item` only if nothing has its key.
    pub(crate) fn put_new_tx(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(tx::build_err)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A query of one partition of a secondary index (`GSI1` or `GSI2`).
    pub(crate) fn index_query(
        &self,
        index: &str,
        partition: impl Into<String>,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(format!("{index}PK = :pk"))
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S(partition.into()),
            )
    }

    /// Every item a query matches, as `T`.
    pub(crate) async fn query_as<T: serde::de::DeserializeOwned>(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<Vec<T>, StoreError> {
        self.query_all(query)
            .await?
            .into_iter()
            .map(|item| serde_dynamo::from_item(item).map_err(StoreError::from))
            .collect()
    }

    /// How many items a query (with `Select::Count`) matches, over all pages.
    pub(crate) async fn query_count(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<u32, StoreError> {
        let query = query.select(aws_sdk_dynamodb::types::Select::Count);
        let mut count = 0;
        let mut start = None;
        loop {
            let out = query.clone().set_exclusive_start_key(start).send().await?;
            count += out.count as u32;
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(count),
            }
        }
    }
}

/// A string attribute of an item, or an error naming what is missing.
pub(crate) fn attr_s<'a>(
    item: &'a std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    name: &str,
) -> Result<&'a str, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| StoreError::Corrupt(format!("item without string `{name}`")))
}

pub(crate) fn attr_n(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    name: &str,
) -> Result<i64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("item without number `{name}`")))
}

/// SDK configuration from the environment, shared by every AWS client of a
/// process. `AWS_ENDPOINT_URL` points it at the local stack.
pub mod aws {
    pub use aws_config::SdkConfig;
    pub use aws_sdk_dynamodb::Client;

    pub async fn load() -> SdkConfig {
        aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
    }

    /// Configuration for the local AWS endpoint with fixed dummy
    /// credentials: the local runtime, tests and benchmarks never consult
    /// the default credential chain (which would try the instance metadata
    /// address). Every service's client is built from it.
    pub fn local_sdk_config(endpoint: &str) -> SdkConfig {
        use aws_config::{BehaviorVersion, Region};
        use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "local",
                "local",
                None,
                None,
                "evently-local",
            )))
            .build()
    }

    /// A DynamoDB client for the local AWS endpoint.
    pub fn local_client(endpoint: &str) -> Client {
        Client::new(&local_sdk_config(endpoint))
    }

    /// The configuration behind `local_client`, to add interceptors to.
    pub fn local_config(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
        aws_sdk_dynamodb::config::Builder::from(&local_sdk_config(endpoint))
    }
}
