//! The DynamoDB adapter: one table, keys and access patterns documented in
//! docs/data-model.md. Every method is one access pattern; conditional
//! failures come back as typed `StoreError`s, never as strings to parse.

mod analytics;
mod bookings;
mod catalog;
mod doors;
mod error;
mod holds;
mod idempotency;
pub mod keys;
mod locks;
mod offers;
mod payments;
pub use payments::Begun;
mod queue;
pub mod retry;
mod seat_maps;
mod seating;
mod seats;
mod throttle;
mod tx;
mod users;
mod venues;
mod waitlist;

use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_sdk_dynamodb::Client;

pub use analytics::{Applicable, EventCounters, LiveHolds, Recount, SalesHour};
pub use bookings::{Alongside, CancelOutcome, ConfirmError};
pub use catalog::{CatalogPage, CatalogQuery, Cursor};
pub use doors::{CheckIn, StaffMember};
pub use error::{is_transient, StoreError};
pub use holds::HoldError;
pub use idempotency::{Answer, Begin, Claim};
pub use queue::{Joined, QueueMarker, QueueStep};
pub use seat_maps::SeatMarkChange;
pub use seating::SeatingError;
pub use seats::SEAT_FREE_FILTER;
pub use seats::{progress_key, StaleReservation, RESERVED_GRACE_SECS};
pub use throttle::Limit;
pub use users::{Account, PasswordReset};
pub use venues::EventWriteError;
pub use waitlist::JoinError;

/// The single table. Cheap to clone: the SDK client is reference-counted.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
    /// Shared by clones: one per process (see `with_access_key`).
    guards: std::sync::Arc<holds::GuardCache>,
    /// Events this process knows have a waitlist (see `keys::waitlist_opened`).
    waitlisted: std::sync::Arc<waitlist::Waitlisted>,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            guards: Default::default(),
            waitlisted: Default::default(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// This store signing with another access key (the local runtime gives
    /// each function its own, so the local endpoint can hold each to its
    /// IAM policy); interceptors and retry settings are kept.
    pub fn with_access_key(&self, key: &str) -> Self {
        let config = self
            .client
            .config()
            .to_builder()
            .credentials_provider(aws::credentials(key))
            .build();
        Self {
            client: Client::from_conf(config),
            table: self.table.clone(),
            // Another identity is another function, so another process:
            // its own view of the guards, as in Lambda.
            guards: Default::default(),
            waitlisted: Default::default(),
        }
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

    /// Writes `items` (at most 25) with BatchWriteItem, sending again
    /// what DynamoDB leaves unprocessed (throttling) with a growing pause.
    pub(crate) async fn put_batch(&self, items: Vec<Item>) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let mut pending: Vec<WriteRequest> = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(tx::build_err)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<_, StoreError>>()?;
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, pending)
                .send()
                .await?;
            pending = out
                .unprocessed_items
                .and_then(|mut m| m.remove(&self.table))
                .unwrap_or_default();
            attempt += 1;
            if !pending.is_empty() {
                if attempt > 8 {
                    return Err(StoreError::Backend(
                        "batch write kept being throttled".into(),
                    ));
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt.min(5))).await;
            }
        }
        Ok(())
    }

    /// Whether the table holds exactly `item` now. After a conditional
    /// write fails its condition this tells "someone else changed it" from
    /// "our own write landed, its answer was lost and the SDK's retry met
    /// it" (a timeout after the write was applied).
    pub(crate) async fn holds(&self, item: &Item) -> Result<bool, StoreError> {
        let (Ok(pk), Ok(sk)) = (attr_s(item, keys::PK), attr_s(item, keys::SK)) else {
            return Ok(false);
        };
        Ok(self
            .get_item((pk.to_owned(), sk.to_owned()))
            .await?
            .as_ref()
            == Some(item))
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

    /// Every item a query matches that reads as `T`; an item that does not
    /// is logged and left out, so one corrupt record cannot stop a job that
    /// works through the rest (the sweeper's due lists).
    pub(crate) async fn query_readable<T: serde::de::DeserializeOwned>(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<Vec<T>, StoreError> {
        Ok(self
            .query_all(query)
            .await?
            .into_iter()
            .filter_map(|item| {
                let key = (
                    attr_s(&item, keys::PK).unwrap_or_default().to_owned(),
                    attr_s(&item, keys::SK).unwrap_or_default().to_owned(),
                );
                serde_dynamo::from_item(item)
                    .map_err(|e| {
                        tracing::error!(pk = %key.0, sk = %key.1, error = %e, "unreadable item skipped");
                    })
                    .ok()
            })
            .collect())
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

/// `value` as an item of the table: its attributes plus its key and the
/// `entity` it is (what the stream filters and the tools match on).
pub(crate) fn entity_item<T: serde::Serialize>(
    value: T,
    pk: impl Into<String>,
    sk: impl Into<String>,
    entity: &str,
) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(value)?;
    item.insert(keys::PK.into(), tx::s(pk));
    item.insert(keys::SK.into(), tx::s(sk));
    item.insert("entity".into(), tx::s(entity));
    Ok(item)
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

/// A stream record's image as plain JSON, as the stream functions read it;
/// None when absent. Lambda's event has an empty image where the record
/// has none (an INSERT's old image, a REMOVE's new one): read as present,
/// every insert would look like an update.
pub fn stream_image(item: &serde_dynamo::Item) -> Option<serde_json::Value> {
    if item.is_empty() {
        return None;
    }
    serde_dynamo::from_item(item.clone()).ok()
}

/// A stream function's answer naming the records it could not process
/// (`ReportBatchItemFailures`: Lambda retries from the first one named; an
/// empty list is the whole batch done).
pub fn stream_failures(
    sequence_numbers: Vec<String>,
) -> aws_lambda_events::event::streams::DynamoDbEventResponse {
    let mut response = aws_lambda_events::event::streams::DynamoDbEventResponse::default();
    for id in sequence_numbers {
        let mut failure = aws_lambda_events::event::streams::DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(id);
        response.batch_item_failures.push(failure);
    }
    response
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
/// process. `AWS_ENDPOINT_URL` points it at the local stack. Every client
/// gets the same retry policy and timeouts: a call that hangs is cut off
/// and retried (a DynamoDB transaction retried by the SDK keeps its client
/// request token, so a write that did happen is not repeated).
pub mod aws {
    use std::time::Duration;

    pub use aws_config::SdkConfig;
    use aws_config::{retry::RetryConfig, timeout::TimeoutConfig};
    pub use aws_sdk_dynamodb::Client;

    /// Attempts per call (the SDK's own retries of throttling, 5xx and
    /// timeouts), with exponential backoff from 25 ms up to 1 s.
    pub fn retry_config() -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(5)
            .with_initial_backoff(Duration::from_millis(25))
            .with_max_backoff(Duration::from_secs(1))
    }

    fn millis(name: &str, default: u64) -> Duration {
        Duration::from_millis(
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|v: &u64| *v > 0)
                .unwrap_or(default),
        )
    }

    /// One attempt may take `EVENTLY_AWS_ATTEMPT_TIMEOUT_MS` (default
    /// `attempt_ms`), a call with its retries `EVENTLY_AWS_CALL_TIMEOUT_MS`
    /// (default `call_ms`).
    pub fn timeout_config(attempt_ms: u64, call_ms: u64) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(1))
            .operation_attempt_timeout(millis("EVENTLY_AWS_ATTEMPT_TIMEOUT_MS", attempt_ms))
            .operation_timeout(millis("EVENTLY_AWS_CALL_TIMEOUT_MS", call_ms))
            .build()
    }

    /// In Lambda: DynamoDB answers in milliseconds, so an attempt that takes
    /// 2 s is stuck; a call gives up after 6 s, well inside a function's
    /// 10 s timeout.
    pub async fn load() -> SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .retry_config(retry_config())
            .timeout_config(timeout_config(2_000, 6_000))
            .load()
            .await
    }

    /// A DynamoDB client that also retries `TransactionConflictException`
    /// (a single-item write that met a transaction in progress: rejected,
    /// not applied), which the SDK leaves to the caller.
    pub fn dynamodb(sdk: &SdkConfig) -> Client {
        Client::from_conf(dynamodb_config(sdk).build())
    }

    /// The configuration behind `dynamodb`, to add interceptors to.
    pub fn dynamodb_config(sdk: &SdkConfig) -> aws_sdk_dynamodb::config::Builder {
        use aws_sdk_dynamodb::operation::{
            delete_item::DeleteItemError, put_item::PutItemError, update_item::UpdateItemError,
        };
        aws_sdk_dynamodb::config::Builder::from(sdk)
            .retry_classifier(ConflictRetry::<PutItemError>::new())
            .retry_classifier(ConflictRetry::<UpdateItemError>::new())
            .retry_classifier(ConflictRetry::<DeleteItemError>::new())
    }

    /// Configuration for the local AWS endpoint with fixed dummy
    /// credentials: the local runtime, tests and benchmarks never consult
    /// the default credential chain (which would try the instance metadata
    /// address). Every service's client is built from it. Attempts may take
    /// longer than in AWS (5 s): the local endpoint answers one request at a
    /// time, so under a rush a request can wait behind hundreds of others.
    pub fn local_sdk_config(endpoint: &str) -> SdkConfig {
        local_sdk_config_timeouts(endpoint, 5_000, 15_000)
    }

    /// `local_sdk_config` with these timeouts (tests that inject late
    /// answers cut attempts short).
    pub fn local_sdk_config_timeouts(endpoint: &str, attempt_ms: u64, call_ms: u64) -> SdkConfig {
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
            .retry_config(retry_config())
            .timeout_config(timeout_config(attempt_ms, call_ms))
            .build()
    }

    /// Fixed local credentials with this access key id.
    pub fn credentials(key: &str) -> aws_sdk_dynamodb::config::SharedCredentialsProvider {
        use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
        SharedCredentialsProvider::new(Credentials::new(key, "local", None, None, "evently-local"))
    }

    /// `sdk` signing with access key `key` (a function's identity locally).
    pub fn with_access_key(sdk: &SdkConfig, key: &str) -> SdkConfig {
        sdk.to_builder()
            .credentials_provider(credentials(key))
            .build()
    }

    /// A DynamoDB client for the local AWS endpoint.
    pub fn local_client(endpoint: &str) -> Client {
        dynamodb(&local_sdk_config(endpoint))
    }

    /// The configuration behind `local_client`, to add interceptors to.
    pub fn local_config(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
        dynamodb_config(&local_sdk_config(endpoint))
    }

    /// Marks `TransactionConflictException` of operation error `E` as a
    /// transient error to retry.
    #[derive(Debug)]
    struct ConflictRetry<E>(std::marker::PhantomData<fn() -> E>);

    impl<E> ConflictRetry<E> {
        fn new() -> Self {
            Self(std::marker::PhantomData)
        }
    }

    impl<E> aws_smithy_runtime_api::client::retries::classifiers::ClassifyRetry for ConflictRetry<E>
    where
        E: std::error::Error
            + aws_sdk_dynamodb::error::ProvideErrorMetadata
            + Send
            + Sync
            + 'static,
    {
        fn classify_retry(
            &self,
            ctx: &aws_smithy_runtime_api::client::interceptors::context::InterceptorContext,
        ) -> aws_smithy_runtime_api::client::retries::classifiers::RetryAction {
            use aws_smithy_runtime_api::client::retries::classifiers::RetryAction;
            let code = match ctx.output_or_error() {
                Some(Err(err)) => err
                    .as_operation_error()
                    .and_then(|e| e.downcast_ref::<E>())
                    .and_then(|e| e.code()),
                _ => None,
            };
            if code == Some("TransactionConflictException") {
                RetryAction::transient_error()
            } else {
                RetryAction::NoActionIndicated
            }
        }

        fn name(&self) -> &'static str {
            "TransactionConflictRetry"
        }
    }
}
