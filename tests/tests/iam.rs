//! IAM from template.yaml, enforced locally (local/src/iam.rs and
//! local/moto/iam.py): every stack in the suite runs with each function
//! signing as itself, so every other test is also a test that the template
//! grants enough. These show that it grants no more than it says: a copy of
//! the template with one permission taken away breaks the flow that needs
//! it, the way the first deployment would have broken.

use evently_local::seed::SeedSize;
use evently_tests::{Options, Stack, DEMO_NIGHT};
use serde_json::{json, Value};

/// `text` with the first `from` inside resource `resource` replaced by `to`.
fn edit_resource(text: &str, resource: &str, from: &str, to: &str) -> String {
    let header = format!("\n  {resource}:\n");
    let body = text
        .find(&header)
        .unwrap_or_else(|| panic!("template has no {resource}"))
        + header.len();
    // The block ends where a line indented exactly two spaces (the next
    // resource, or a comment before it) begins.
    let end = text[body..]
        .match_indices('\n')
        .map(|(i, _)| body + i + 1)
        .find(|&i| {
            let line = &text[i..];
            line.starts_with("  ") && !line.starts_with("   ")
        })
        .unwrap_or(text.len());
    let block = &text[body..end];
    assert!(block.contains(from), "{resource} has no `{from}`");
    format!(
        "{}{}{}",
        &text[..body],
        block.replacen(from, to, 1),
        &text[end..]
    )
}

/// The worker granted SendEmail where it calls SendRawEmail (the bug an
/// earlier template shipped).
fn worker_without_send_raw_email(text: String) -> String {
    edit_resource(
        &text,
        "WaitlistWorkerFunction",
        "- ses:SendRawEmail",
        "- ses:SendEmail",
    )
}

/// Registration without the UpdateItem its Idempotency-Key record needs
/// (the other bug an earlier template shipped).
fn register_without_update_item(text: String) -> String {
    edit_resource(
        &text,
        "AuthRegisterFunction",
        "- dynamodb:UpdateItem\n                - dynamodb:DeleteItem",
        "- dynamodb:DeleteItem",
    )
}

/// What the endpoint refused `function` in this stack.
async fn denied(stack: &Stack, function: &str) -> Vec<String> {
    let report = evently_local::iam::denials(&stack.endpoint, stack.app.store.table())
        .await
        .expect("IAM report");
    report[function]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_worker_not_granted_send_raw_email_never_delivers_the_offer() {
    let sender: &'static str = Box::leak(
        format!("iam-{}@evently.test", evently_core::new_id().to_lowercase()).into_boxed_str(),
    );
    let stack = Stack::start_opts(Options {
        seed: Some(SeedSize::Small),
        // No sweeper run during the test: it holds SendRawEmail and would
        // retry the email itself.
        waitlist: Some((
            evently_waitlist::EngineConfig::default(),
            std::time::Duration::from_secs(3600),
        )),
        sender: sender.into(),
        template_edit: Some(worker_without_send_raw_email),
        ..Options::default()
    })
    .await;
    let demo = stack.event_id(DEMO_NIGHT);
    let user2 = stack.demo_night_cancelled_with_a_waiter().await;

    // The worker makes the offer (its DynamoDB grants are intact) and is
    // refused the email, as SES in AWS would refuse it.
    // The cancellation email (also the worker's) is refused first, so the
    // wait is for both the refusal and the offer, in whichever order.
    let needle = format!("ses:SendRawEmail arn:aws:ses:us-east-1:123456789012:identity/{sender}");
    stack
        .eventually("the worker's SendRawEmail to be denied", 30, || async {
            denied(&stack, "WaitlistWorkerFunction")
                .await
                .contains(&needle)
        })
        .await;
    stack
        .eventually("user2's entry to be offered", 30, || async {
            let (_, now) = stack
                .get(&format!("/api/v1/waitlist/status/{demo}"), Some(&user2))
                .await;
            now["entry"]["status"] == "offered"
        })
        .await;
    let from_us: Vec<Value> = stack
        .mailbox()
        .await
        .into_iter()
        .filter(|m| m["from"] == sender)
        .collect();
    assert!(
        from_us.is_empty(),
        "no email may leave without the permission: {from_us:?}"
    );
}

/// Registers `email` twice under one Idempotency-Key: (first, replay).
async fn register_twice(stack: &Stack, email: &str) -> ((u16, Value), (u16, Value)) {
    let body = json!({"email": email, "password": "correct horse battery", "name": "Iam Test"});
    let mut out = Vec::new();
    for _ in 0..2 {
        let resp = stack
            .http
            .post(stack.url("/api/v1/auth/register"))
            .header("idempotency-key", "iam-reg-1")
            .json(&body)
            .send()
            .await
            .expect("send");
        out.push(evently_tests::answer(resp).await);
    }
    let second = out.pop().expect("two answers");
    (out.pop().expect("two answers"), second)
}

#[tokio::test]
async fn a_registration_key_is_locked_without_update_item_and_replays_with_it() {
    let email = format!("iam-{}@example.com", evently_core::new_id().to_lowercase());
    let broken = Stack::start_opts(Options {
        template_edit: Some(register_without_update_item),
        ..Options::default()
    })
    .await;
    let ((status, first), (again, replay)) = register_twice(&broken, &email).await;
    // The account is made, but the key's record cannot be completed: the
    // client's retry is refused instead of replayed.
    assert_eq!(status, 201, "{first}");
    assert_ne!(again, 201, "a locked key cannot replay: {replay}");
    let table = broken.app.store.table();
    let denials = denied(&broken, "AuthRegisterFunction").await;
    assert!(
        denials.iter().any(
            |d| d.starts_with("dynamodb:UpdateItem") && d.ends_with(&format!(":table/{table}"))
        ),
        "{denials:?}"
    );

    // The template as it is grants what the same requests need.
    let stack = Stack::start(None).await;
    let ((status, first), (again, replay)) = register_twice(&stack, &email).await;
    assert_eq!((status, again), (201, 201), "{first} {replay}");
    assert_eq!(first["user"]["id"], replay["user"]["id"]);
}

#[tokio::test]
async fn every_function_is_held_to_its_own_policy_and_no_other() {
    // Each function's identity is checked separately: the catalog, which
    // may only read, is refused a write with the same table a moment
    // after the hold function was allowed one.
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let template = evently_tests::template();
    // Registered again, out of the least-privilege report: the refusal
    // below is on purpose.
    let identities = evently_local::iam::register_stack(
        &stack.endpoint,
        &template,
        stack.oracle.client(),
        stack.app.store.table(),
        &[],
        false,
    )
    .await
    .expect("register");
    let as_catalog = stack
        .app
        .store
        .with_access_key(&identities.key_of("events-list"));
    let put = as_catalog
        .client()
        .put_item()
        .table_name(as_catalog.table())
        .item("PK", aws_sdk_dynamodb::types::AttributeValue::S("X".into()))
        .item("SK", aws_sdk_dynamodb::types::AttributeValue::S("X".into()))
        .send()
        .await;
    let err = put.expect_err("the catalog may not write");
    let code = aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&err).map(str::to_owned);
    assert_eq!(code.as_deref(), Some("AccessDeniedException"), "{err:?}");
    let as_hold = stack
        .app
        .store
        .with_access_key(&identities.key_of("seats-hold"));
    as_hold
        .client()
        .put_item()
        .table_name(as_hold.table())
        .item("PK", aws_sdk_dynamodb::types::AttributeValue::S("X".into()))
        .item("SK", aws_sdk_dynamodb::types::AttributeValue::S("X".into()))
        .send()
        .await
        .expect("the hold function may put items");
}

/// The waitlist stream function without permission to send to its queue.
fn stream_without_queue(text: String) -> String {
    edit_resource(
        &text,
        "WaitlistStreamFunction",
        "        - SQSSendMessagePolicy:\n            QueueName: !GetAtt WaitlistQueue.QueueName\n",
        "",
    )
}

#[tokio::test]
async fn a_stream_batch_that_fails_every_retry_is_described_on_its_failure_queue() {
    // The template's mapping: MaximumRetryAttempts 5, then the batch goes
    // to StreamFailureQueue — sent with the function's own role.
    let stack = Stack::start_opts(Options {
        seed: Some(SeedSize::Small),
        waitlist: Some((
            evently_waitlist::EngineConfig::default(),
            std::time::Duration::from_secs(3600),
        )),
        template_edit: Some(stream_without_queue),
        ..Options::default()
    })
    .await;
    let (retries, destination) = evently_tests::template().stream_retries("waitlist-stream");
    assert_eq!(
        (retries, destination.as_deref()),
        (Some(5), Some("StreamFailureQueue"))
    );
    stack.demo_night_cancelled_with_a_waiter().await;
    let url = stack.events.as_ref().expect("event sources").queues["StreamFailureQueue"].clone();
    let sqs = aws_sdk_sqs::Client::new(&evently_store::aws::local_sdk_config(&stack.endpoint));
    let mut described = None;
    for _ in 0..200 {
        let out = sqs
            .receive_message()
            .queue_url(&url)
            .send()
            .await
            .expect("receive");
        if let Some(m) = out.messages().first() {
            described = m.body().map(str::to_owned);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let described: Value =
        serde_json::from_str(&described.expect("the batch on the failure queue")).expect("json");
    assert_eq!(
        described["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    // The first attempt and its 5 retries.
    assert_eq!(described["requestContext"]["approximateInvokeCount"], 6);
    let stream =
        evently_local::provision::stream_arn(stack.oracle.client(), stack.app.store.table())
            .await
            .expect("stream");
    assert_eq!(
        described["DDBStreamBatchInfo"]["streamArn"],
        stream.as_str()
    );
    assert!(described["DDBStreamBatchInfo"]["batchSize"].as_u64() >= Some(1));
    let denials = denied(&stack, "WaitlistStreamFunction").await;
    assert!(
        denials
            .iter()
            .any(|d| d.starts_with("sqs:SendMessage") && d.contains("WaitlistQueue")),
        "{denials:?}"
    );
}
