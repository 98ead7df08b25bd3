//! The event sources AWS would drive, run in-process: the table's stream
//! into the stream function, the waitlist queue into the worker (deleting
//! only what succeeded; the queue's redrive policy moves poison messages to
//! the dead-letter queue), the sweeper's schedule, and TTL deletion (moto
//! never expires items). Also provisions the template's queues and the SES
//! sender identity.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use evently_notify::Queue;
use evently_waitlist::stream::Change;
use evently_waitlist::Engine;
use serde_json::Value;
use serde_yaml::Value as Yaml;

use crate::template::{getatt_target, Template};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Queue URLs by logical id.
pub type Queues = HashMap<String, String>;

/// Creates every queue of the template (named `<prefix>-<LogicalId>`), with
/// redrive policies pointing at the template's dead-letter queues.
pub async fn provision_queues(
    sqs: &aws_sdk_sqs::Client,
    template: &Template,
    prefix: &str,
) -> Result<Queues, Error> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let mut urls = Queues::new();
    let mut arns: HashMap<String, String> = HashMap::new();
    // Dead-letter queues (no redrive of their own) first.
    let mut ordered: Vec<&(String, Yaml)> = template.queues.iter().collect();
    ordered.sort_by_key(|(_, p)| p.get("RedrivePolicy").is_some());
    for (id, props) in ordered {
        let name = format!("{prefix}-{id}");
        let mut req = sqs.create_queue().queue_name(&name);
        // Locally a failed message comes back after 1 s rather than after
        // the template's visibility timeout, so redrive happens in seconds.
        req = req.attributes(QueueAttributeName::VisibilityTimeout, "1");
        if let Some(policy) = props.get("RedrivePolicy") {
            let target = policy
                .get("deadLetterTargetArn")
                .and_then(getatt_target)
                .ok_or("RedrivePolicy without deadLetterTargetArn")?;
            let target_arn = arns
                .get(&target)
                .ok_or(format!("dead-letter queue {target} not provisioned"))?;
            let max = policy
                .get("maxReceiveCount")
                .and_then(Yaml::as_u64)
                .unwrap_or(4);
            req = req.attributes(
                QueueAttributeName::RedrivePolicy,
                serde_json::json!({"deadLetterTargetArn": target_arn, "maxReceiveCount": max})
                    .to_string(),
            );
        }
        let url = req.send().await?.queue_url().unwrap_or_default().to_owned();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?;
        let arn = attrs
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .unwrap_or_default();
        arns.insert(id.clone(), arn);
        urls.insert(id.clone(), url);
    }
    Ok(urls)
}

/// Logical id of the local-only queue that captures every domain event put
/// on the bus (so tests and developers can see what was published).
pub const DOMAIN_EVENTS_CAPTURE: &str = "DomainEventsCapture";

/// Creates the template's event bus (`<prefix>-<LogicalId>`; its name is
/// returned) and archives,
/// plus a local-only rule sending every `evently` event to a capture queue
/// whose URL is added to `queues`.
pub async fn provision_bus(
    aws: &aws_config::SdkConfig,
    template: &Template,
    prefix: &str,
    queues: &mut Queues,
) -> Result<String, Error> {
    let bus_id = template
        .buses
        .first()
        .ok_or("template has no AWS::Events::EventBus")?;
    let events = aws_sdk_eventbridge::Client::new(aws);
    let sqs = aws_sdk_sqs::Client::new(aws);
    let name = format!("{prefix}-{bus_id}");
    let bus_arn = match events.create_event_bus().name(&name).send().await {
        Ok(out) => out.event_bus_arn().unwrap_or_default().to_owned(),
        Err(_) => events
            .describe_event_bus()
            .name(&name)
            .send()
            .await?
            .arn()
            .unwrap_or_default()
            .to_owned(),
    };
    for (archive, days) in &template.archives {
        // A local archive only proves the shape; moto replays nothing.
        let mut req = events
            .create_archive()
            .archive_name(format!("{prefix}-{archive}"))
            .event_source_arn(&bus_arn);
        if *days > 0 {
            req = req.retention_days(*days as i32);
        }
        if let Err(e) = req.send().await {
            tracing::debug!(error = %aws_sdk_eventbridge::error::DisplayErrorContext(&e), "archive not created locally");
        }
    }
    let url = sqs
        .create_queue()
        .queue_name(format!("{prefix}-{DOMAIN_EVENTS_CAPTURE}"))
        .send()
        .await?
        .queue_url()
        .unwrap_or_default()
        .to_owned();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_default();
    let rule = format!("{prefix}-capture");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(&name)
        .event_pattern(serde_json::json!({ "source": [evently_analytics::SOURCE] }).to_string())
        .send()
        .await?;
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&name)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("capture")
                .arn(arn)
                .build()?,
        )
        .send()
        .await?;
    queues.insert(DOMAIN_EVENTS_CAPTURE.to_owned(), url);
    Ok(name)
}

/// One stream record, as every local stream consumer receives it (the
/// analytics function's own record type: id, sequence number, time, images).
pub type StreamRecord = evently_analytics::Record;

/// A function the table's stream feeds: takes a batch, answers whether it
/// all succeeded (a failed batch is retried whole, as Lambda would from its
/// first reported failure).
pub type StreamConsumer = std::sync::Arc<
    dyn Fn(Vec<StreamRecord>) -> futures::future::BoxFuture<'static, bool> + Send + Sync,
>;

/// The waitlist stream function as a consumer.
pub fn waitlist_consumer(queue: Queue) -> StreamConsumer {
    std::sync::Arc::new(move |records: Vec<StreamRecord>| {
        let queue = queue.clone();
        Box::pin(async move {
            let records = records
                .into_iter()
                .map(|r| waitlist_stream::Record {
                    sequence_number: r.sequence_number,
                    change: Change {
                        old: r.old,
                        new: r.new,
                    },
                })
                .collect();
            waitlist_stream::forward(&queue, records).await.is_empty()
        })
    })
}

/// The analytics stream function as a consumer.
pub fn analytics_consumer(store: evently_store::Store, bus: evently_notify::Bus) -> StreamConsumer {
    std::sync::Arc::new(move |records: Vec<StreamRecord>| {
        let (store, bus) = (store.clone(), bus.clone());
        Box::pin(async move {
            analytics_stream::project_batch(&store, &bus, &records)
                .await
                .is_empty()
        })
    })
}

/// Where one stream function reads from, and what its mapping lets through.
pub struct StreamSource {
    /// Signing as the function (the mapping reads with its role).
    pub streams: aws_sdk_dynamodbstreams::Client,
    /// The deployer's, to find the table's current stream.
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub table: String,
    pub filters: Vec<crate::filter::Pattern>,
    pub delivered: Delivered,
    /// The function's real binary, given the DynamoDB event as Lambda
    /// gives it; `None`: the in-process consumer.
    pub lambda: Option<std::sync::Arc<crate::lambda::LocalLambda>>,
    /// The mapping's `MaximumRetryAttempts` (None: until the record
    /// expires, i.e. for ever locally) and its on-failure destination (an
    /// SQS client signing as the function, and the queue's URL).
    pub retries: Option<u32>,
    pub on_failure: Option<(aws_sdk_sqs::Client, String)>,
}

/// What Lambda sends an on-failure destination when a stream batch has
/// used up its retries: where the records were, not the records.
fn failure_record(
    out: &aws_sdk_dynamodbstreams::operation::get_records::GetRecordsOutput,
    stream_arn: &str,
    attempts: u32,
) -> Value {
    let seqs: Vec<&str> = out
        .records()
        .iter()
        .filter_map(|r| r.dynamodb()?.sequence_number())
        .collect();
    serde_json::json!({
        "requestContext": {
            "requestId": evently_core::new_id().to_lowercase(),
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": attempts,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "DDBStreamBatchInfo": {
            "shardId": "local",
            "startSequenceNumber": seqs.first(),
            "endSequenceNumber": seqs.last(),
            "batchSize": seqs.len(),
            "streamArn": stream_arn,
        },
    })
}

/// Who handles an event source's batches.
pub enum Backend {
    InProcess(&'static Engine),
    /// The function's real binary.
    Lambda(std::sync::Arc<crate::lambda::LocalLambda>),
}

/// The ids in a partial batch response (`batchItemFailures`), or `None`
/// when the answer is not one.
fn batch_failures(answer: &Value) -> Option<Vec<String>> {
    let list = answer.get("batchItemFailures")?.as_array()?;
    Some(
        list.iter()
            .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
            .collect(),
    )
}

/// The keys (PK, SK) of the records a stream function was given, the last
/// 10,000 (tests read it to see what the filters let through).
#[derive(Debug, Clone, Default)]
pub struct Delivered(
    std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<(String, String)>>>,
);

impl Delivered {
    fn push(&self, key: (String, String)) {
        if let Ok(mut log) = self.0.lock() {
            if log.len() >= 10_000 {
                log.pop_front();
            }
            log.push_back(key);
        }
    }

    pub fn keys(&self) -> Vec<(String, String)> {
        self.0
            .lock()
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }
}

struct Target<'a> {
    retries: Option<u32>,
    on_failure: Option<&'a (aws_sdk_sqs::Client, String)>,
    stream_arn: &'a str,
    lambda: Option<&'a crate::lambda::LocalLambda>,
    consumer: &'a StreamConsumer,
    filters: &'a [crate::filter::Pattern],
    delivered: &'a Delivered,
}

/// A stream record as the in-process consumers take it (images as plain
/// JSON).
fn plain_record(r: &aws_sdk_dynamodbstreams::types::Record) -> Option<StreamRecord> {
    let d = r.dynamodb()?;
    let plain = |img: Option<&HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
        img.and_then(|i| serde_dynamo::from_item::<_, Value>(i.clone()).ok())
    };
    Some(StreamRecord {
        id: r.event_id().unwrap_or_default().to_owned(),
        sequence_number: d.sequence_number().unwrap_or_default().to_owned(),
        at: d
            .approximate_creation_date_time()
            .map_or_else(|| chrono::Utc::now().timestamp(), |t| t.secs()),
        old: plain(d.old_image()),
        new: plain(d.new_image()),
    })
}

/// Follows the table's stream from now on and feeds its records to one
/// consumer, as a DynamoDB event source mapping would (each consumer has
/// its own iterator). If the stream goes away (scripts/seed recreates the
/// table), it finds the new one.
pub async fn poll_stream(
    source: StreamSource,
    consumer: StreamConsumer,
    every: Duration,
    first: (String, String),
) -> Result<(), Error> {
    let StreamSource {
        streams,
        dynamodb,
        table,
        filters,
        delivered,
        lambda,
        retries,
        on_failure,
    } = source;
    let mut opened = Some(first);
    loop {
        let next = match opened.take() {
            Some(o) => Ok(o),
            None => open_stream(&streams, &dynamodb, &table).await,
        };
        match next {
            Ok((arn, iterator)) => {
                let same_stream = || async {
                    let now = dynamodb
                        .describe_table()
                        .table_name(&table)
                        .send()
                        .await
                        .ok();
                    now.and_then(|t| {
                        t.table()
                            .and_then(|t| t.latest_stream_arn().map(str::to_owned))
                    }) == Some(arn.clone())
                };
                let to = Target {
                    lambda: lambda.as_deref(),
                    consumer: &consumer,
                    filters: &filters,
                    delivered: &delivered,
                    retries,
                    on_failure: on_failure.as_ref(),
                    stream_arn: &arn,
                };
                follow(&streams, iterator, to, every, same_stream).await
            }
            Err(e) => tracing::debug!(error = %e, "no stream to follow yet"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The table's current stream and an iterator at its end: opened before the
/// poller is spawned, so nothing written after start-up is missed.
pub async fn open_stream(
    streams: &aws_sdk_dynamodbstreams::Client,
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<(String, String), Error> {
    use aws_sdk_dynamodbstreams::types::ShardIteratorType;
    let arn = crate::provision::stream_arn(dynamodb, table).await?;
    let desc = streams.describe_stream().stream_arn(&arn).send().await?;
    let shard = desc
        .stream_description()
        .and_then(|d| d.shards().first())
        .and_then(|s| s.shard_id())
        .ok_or("stream has no shard")?
        .to_owned();
    let iterator = streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::Latest)
        .send()
        .await?
        .shard_iterator()
        .ok_or("no shard iterator")?
        .to_owned();
    Ok((arn, iterator))
}

/// Reads one shard until it fails a few times in a row or the table's
/// stream is no longer this one (checked every few seconds: moto keeps
/// answering a deleted table's iterator with nothing).
async fn follow<F, Fut>(
    streams: &aws_sdk_dynamodbstreams::Client,
    start: String,
    to: Target<'_>,
    every: Duration,
    same_stream: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut iterator = Some(start);
    let mut failures = 0;
    // Attempts at the batch at `iterator` that failed.
    let mut attempts: u32 = 0;
    let mut checked = std::time::Instant::now();
    while let Some(it) = iterator.take() {
        if checked.elapsed() > Duration::from_secs(3) {
            if !same_stream().await {
                return;
            }
            checked = std::time::Instant::now();
        }
        let out = match streams.get_records().shard_iterator(&it).send().await {
            Ok(out) => {
                failures = 0;
                out
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e), "stream read failed");
                if failures >= 5 {
                    return; // reopen: the table may have been recreated
                }
                tokio::time::sleep(every).await;
                iterator = Some(it);
                continue;
            }
        };
        let next = out.next_shard_iterator().map(str::to_owned);
        // The records the mapping's filters let through, each with its
        // event (the shape filters are written against and the real binary
        // receives): judged once.
        let passed: Vec<(&aws_sdk_dynamodbstreams::types::Record, Value)> = out
            .records()
            .iter()
            .map(|r| (r, crate::filter::record_event(r)))
            .filter(|(_, event)| crate::filter::passes(to.filters, event))
            .collect();
        let keys: Vec<(String, String)> = passed
            .iter()
            .filter_map(|(r, _)| {
                let k = r.dynamodb()?.keys()?;
                let s = |name: &str| k.get(name)?.as_s().ok().cloned();
                Some((s("PK")?, s("SK")?))
            })
            .collect();
        let handled = match to.lambda {
            _ if passed.is_empty() => true,
            Some(lambda) => {
                let event = serde_json::json!({
                    "Records": passed.into_iter().map(|(_, event)| event).collect::<Vec<_>>(),
                });
                match lambda.invoke(&event).await {
                    Ok(answer) => batch_failures(&answer).is_some_and(|f| f.is_empty()),
                    Err(e) => {
                        tracing::error!(function = %lambda.name, error = %e, "stream batch failed; retried");
                        false
                    }
                }
            }
            None => {
                let records: Vec<StreamRecord> =
                    passed.iter().filter_map(|(r, _)| plain_record(r)).collect();
                // An invocation that crashes (panics) failed its batch.
                records.is_empty()
                    || tokio::spawn((to.consumer)(records))
                        .await
                        .unwrap_or_else(|e| {
                            tracing::error!(error = %e, "stream consumer crashed; its batch is retried");
                            false
                        })
            }
        };
        if !handled {
            attempts += 1;
            match (to.retries, to.on_failure) {
                // Out of retries: as the mapping would, describe the batch
                // to the on-failure destination and move past it.
                (Some(max), Some((sqs, url))) if attempts > max => {
                    let body = failure_record(&out, to.stream_arn, attempts).to_string();
                    match sqs
                        .send_message()
                        .queue_url(url)
                        .message_body(body)
                        .send()
                        .await
                    {
                        Ok(_) => tracing::error!(
                            attempts,
                            "stream batch failed every retry; described on the on-failure queue"
                        ),
                        Err(e) => {
                            // The destination refused (e.g. AccessDenied):
                            // the mapping keeps retrying.
                            tracing::error!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "on-failure destination refused the batch");
                            tokio::time::sleep(every).await;
                            iterator = Some(it);
                            continue;
                        }
                    }
                }
                _ => {
                    // Retry the same batch, as the event source mapping would.
                    tokio::time::sleep(every).await;
                    iterator = Some(it);
                    continue;
                }
            }
        } else {
            for key in keys {
                to.delivered.push(key);
            }
        }
        attempts = 0;
        iterator = next;
        tokio::time::sleep(every).await;
    }
}

/// Feeds the waitlist queue to the worker, deleting only what succeeded.
/// Each batch runs as its own invocation would: with the worker's timeout
/// from template.yaml as its deadline, and a crash (panic) counting as the
/// whole batch failing, so its messages come back.
pub async fn poll_queue(backend: Backend, queue: Queue, timeout: Duration) -> Result<(), Error> {
    loop {
        let out = match queue
            .client()
            .receive_message()
            .queue_url(queue.url())
            .max_number_of_messages(10)
            // No long polling: the local endpoint answers one request at a
            // time, and a waiting receive would stall every other caller.
            .wait_time_seconds(0)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "queue read failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let messages = out.messages();
        if messages.is_empty() {
            tokio::time::sleep(Duration::from_millis(150)).await;
            continue;
        }
        let batch: Vec<(String, String)> = messages
            .iter()
            .map(|m| {
                (
                    m.message_id().unwrap_or_default().to_owned(),
                    m.body().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let ids: Vec<String> = batch.iter().map(|(id, _)| id.clone()).collect();
        let deadline = tokio::time::Instant::now() + timeout;
        let failed = match &backend {
            Backend::InProcess(engine) => {
                match tokio::spawn(waitlist_worker::process(engine, batch, deadline)).await {
                    Ok(failed) => failed,
                    Err(e) => {
                        tracing::error!(error = %e, "worker invocation crashed; its batch comes back");
                        ids
                    }
                }
            }
            Backend::Lambda(lambda) => {
                // The queue's ARN, as its events name their source.
                let name = queue.url().rsplit('/').next().unwrap_or_default();
                let arn = crate::iam::arn("sqs", name);
                let event = serde_json::json!({ "Records": messages.iter().map(|m| serde_json::json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "attributes": m.attributes().map(|a| a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), Value::String(v.clone())))
                        .collect::<serde_json::Map<_, _>>()).unwrap_or_default(),
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                    "awsRegion": crate::iam::REGION,
                })).collect::<Vec<_>>() });
                match lambda.invoke(&event).await {
                    Ok(answer) => batch_failures(&answer).unwrap_or(ids),
                    Err(e) => {
                        tracing::error!(error = %e, "worker invocation failed; its batch comes back");
                        ids
                    }
                }
            }
        };
        for m in messages {
            if failed.iter().any(|f| Some(f.as_str()) == m.message_id()) {
                continue; // comes back after the visibility timeout
            }
            if let Some(receipt) = m.receipt_handle() {
                if let Err(e) = queue
                    .client()
                    .delete_message()
                    .queue_url(queue.url())
                    .receipt_handle(receipt)
                    .send()
                    .await
                {
                    // Delivered again later: the worker is idempotent.
                    tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "message not deleted");
                }
            }
        }
    }
}

/// The sweeper's schedule (EventBridge `rate(1 minute)` in AWS), each run
/// with the sweeper's timeout from template.yaml; a crash is logged and
/// the next tick runs as usual.
pub async fn tick_sweeper(backend: Backend, every: Duration, timeout: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let deadline = tokio::time::Instant::now() + timeout;
        let engine = match &backend {
            Backend::InProcess(engine) => *engine,
            Backend::Lambda(lambda) => {
                if let Err(e) = lambda.invoke(&scheduled_event()).await {
                    tracing::warn!(error = %e, "sweep failed");
                }
                continue;
            }
        };
        match tokio::spawn(waitlist_sweeper::sweep_by(engine, deadline)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "sweep failed"),
            Err(e) => tracing::error!(error = %e, "sweeper invocation crashed"),
        }
    }
}

/// The admitter's schedule: in AWS one invocation a minute steps every
/// `ADMIT_STEP_SECONDS` inside it; in process each tick is one step (the
/// same cadence without a long-running task), and a real binary is invoked
/// as EventBridge would, stepping until its own deadline.
pub async fn tick_admitter(
    admitter: &'static queue_admit::Admitter,
    lambda: Option<std::sync::Arc<crate::lambda::LocalLambda>>,
    timeout: Duration,
) {
    loop {
        tokio::time::sleep(admitter.step_every).await;
        if let Some(lambda) = &lambda {
            if let Err(e) = lambda.invoke(&scheduled_event()).await {
                tracing::warn!(error = %e, "admission failed");
            }
            continue;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let step = async move {
            let mut report = queue_admit::AdmitReport::default();
            evently_store::retry::within(deadline, queue_admit::step_all(admitter, &mut report))
                .await
        };
        match tokio::spawn(step).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "admission failed"),
            Err(e) => tracing::error!(error = %e, "admitter invocation crashed"),
        }
    }
}

/// The event EventBridge Scheduler delivers on each tick.
pub fn scheduled_event() -> Value {
    serde_json::json!({
        "version": "0",
        "id": evently_core::new_id().to_lowercase(),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": crate::iam::ACCOUNT,
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": crate::iam::REGION,
        "resources": [],
        "detail": {},
    })
}

/// Deletes items whose `ttl` has passed, as DynamoDB's TTL eventually
/// would (it may lag up to 48 h; nothing here depends on it).
pub async fn expire_ttl(dynamodb: aws_sdk_dynamodb::Client, table: String, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let now = chrono::Utc::now().timestamp().to_string();
        let mut start = None;
        loop {
            let page = dynamodb
                .scan()
                .table_name(&table)
                .filter_expression("#ttl < :now")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", AttributeValue::N(now.clone()))
                .projection_expression("PK, SK")
                .set_exclusive_start_key(start)
                .send()
                .await;
            let Ok(page) = page else { break };
            for key in page.items() {
                let _ = dynamodb
                    .delete_item()
                    .table_name(&table)
                    .set_key(Some(key.clone()))
                    .send()
                    .await;
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
    }
}
