//! The DynamoDB adapter: one table, keys and access patterns documented in
//! docs/data-model.md. Every method is one access pattern; conditional
//! failures come back as typed `StoreError`s, never as strings to parse.

mod bookings;
mod catalog;
mod error;
mod holds;
mod idempotency;
pub mod keys;
mod seats;
mod tx;
mod users;
mod venues;

use aws_sdk_dynamodb::Client;

pub use bookings::{ConfirmError, ReleaseTo};
pub use catalog::{CatalogPage, CatalogQuery, Cursor};
pub use error::StoreError;
pub use holds::HoldError;
pub use idempotency::Begin;
pub use seats::SEAT_FREE_FILTER;

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

    /// A client for the local AWS endpoint with fixed dummy credentials: the
    /// local runtime, tests and benchmarks never consult the default
    /// credential chain (which would try the instance metadata address).
    pub fn local_client(endpoint: &str) -> Client {
        Client::from_conf(local_config(endpoint).build())
    }

    /// The configuration behind `local_client`, to add interceptors to.
    pub fn local_config(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
        use aws_sdk_dynamodb::config::{Credentials, Region};
        aws_sdk_dynamodb::Config::builder()
            .behavior_version_latest()
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(Credentials::new(
                "local",
                "local",
                None,
                None,
                "evently-local",
            ))
    }
}
