//! Cold init and warm invocations of release function binaries under the
//! local Runtime API (local/src/lambda.rs), against a hello-world
//! `lambda_http` binary built with the same profile. Prints Markdown for
//! docs/benchmarks.md; asserts nothing.
//!
//!   evently-bench-lambda <dir with release binaries>
//!
//! Cold init = spawn → the process's first `GET /runtime/invocation/next`
//! (what Lambda bills as Init Duration), the median of BENCH_COLD_STARTS
//! (20) starts. Warm = BENCH_WARM (200) invocations of one instance with an
//! event it answers without calling AWS (a request without a token, an
//! empty batch), p50/p99: the runtime's and the binary's own overhead.
//! Needs AWS_ENDPOINT_URL (the functions build their clients at init).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use evently_local::lambda::{LocalLambda, Spec};
use serde_json::{json, Value};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn http_event(path: &str) -> Value {
    json!({
        "version": "2.0", "routeKey": format!("POST {path}"), "rawPath": path,
        "rawQueryString": "", "headers": {"content-type": "application/json"},
        "requestContext": {"accountId": "123456789012", "apiId": "local",
            "domainName": "127.0.0.1", "domainPrefix": "local",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": format!("POST {path}"), "stage": "$default",
            "time": "02/Dec/2026:00:00:00 +0000", "timeEpoch": 0},
        "body": "{}", "isBase64Encoded": false
    })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: evently-bench-lambda <dir with release binaries>")?,
    );
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| "AWS_ENDPOINT_URL is not set")?;
    let colds: usize = std::env::var("BENCH_COLD_STARTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let warms: usize = std::env::var("BENCH_WARM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let empty_batch = json!({"Records": []});
    // First invocations that make one AWS call each (the first request pays
    // for the TLS connector): a well-formed token sends the HTTP functions
    // to Secrets Manager for their keys; a message and a stream record send
    // the worker and the analytics function to DynamoDB. The calls fail
    // (nothing is provisioned), which is not what is measured.
    let mut with_token = http_event("/api/v1/seats/hold");
    with_token["headers"]["authorization"] =
        json!("Bearer eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2ln");
    let message = json!({"Records": [{"messageId": "m1", "receiptHandle": "r",
        "body": "{\"event_id\": \"e\", \"section_id\": \"A\", \"seat_ids\": [\"A-1-1\"], \"released_from\": \"b\"}",
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
        "md5OfBody": "0", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "awsRegion": "us-east-1"}]});
    let record = json!({"Records": [{"eventID": "1", "eventName": "INSERT", "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "dynamodb": {"Keys": {"PK": {"S": "BOOKING#b"}, "SK": {"S": "BOOKING"}},
            "NewImage": {"PK": {"S": "BOOKING#b"}, "SK": {"S": "BOOKING"}, "entity": {"S": "booking"},
                "event_id": {"S": "e"}, "status": {"S": "confirmed"}},
            "SequenceNumber": "1", "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES"}}]});
    let cases: Vec<(&str, Value, Value)> = vec![
        ("hello-lambda", http_event("/hello"), http_event("/hello")),
        (
            "seats-hold",
            http_event("/api/v1/seats/hold"),
            with_token.clone(),
        ),
        (
            "bookings-confirm",
            http_event("/api/v1/bookings/confirm"),
            with_token,
        ),
        ("waitlist-worker", empty_batch.clone(), message),
        ("analytics-stream", empty_batch, record),
    ];
    let env = |name: &str| -> Vec<(String, String)> {
        [
            ("TABLE_NAME", "bench-lambda"),
            (
                "JWT_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:none",
            ),
            ("WAITLIST_QUEUE_URL", "http://127.0.0.1/123456789012/none"),
            ("EVENT_BUS_NAME", "none"),
            ("SENDER_EMAIL", "bench@evently.test"),
            ("PUBLIC_BASE_URL", "http://127.0.0.1"),
            ("PAYMENT_PROVIDER", "simulator"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
            ("FUNCTION", name),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        // BENCH_EXTRA_ENV="K=V,…": more environment for every function
        // (e.g. SSL_CERT_FILE, to compare how root certificates load).
        .chain(
            std::env::var("BENCH_EXTRA_ENV")
                .unwrap_or_default()
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .collect()
    };
    println!("| release binary (x86_64) | size | cold init median (n={colds}) | vs hello | first invoke (one AWS call) median | init + first vs hello | warm p50 / p99 (n={warms}) | peak RSS |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut hello_init = None;
    let mut hello_total = None;
    for (binary, event, first_event) in cases {
        let path = dir.join(binary);
        let size = std::fs::metadata(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .len();
        let spec = Spec {
            name: binary.to_owned(),
            binary: path,
            env: env(binary),
            timeout: Duration::from_secs(10),
            memory_mb: 256,
            log: None,
        };
        let mut inits = Vec::with_capacity(colds);
        let mut firsts = Vec::with_capacity(colds);
        let mut last = None;
        for _ in 0..colds {
            let lambda = LocalLambda::start(spec.clone()).await?;
            inits.push(lambda.init);
            let t = Instant::now();
            // A function error is an answer too (nothing is provisioned).
            let _ = lambda.invoke(&first_event).await;
            firsts.push(t.elapsed());
            last = Some(lambda);
        }
        inits.sort();
        firsts.sort();
        let first = percentile(&firsts, 0.5);
        let lambda = last.ok_or("no start")?;
        let mut warm = Vec::with_capacity(warms);
        for _ in 0..warms {
            let t = Instant::now();
            lambda.invoke(&event).await?;
            warm.push(t.elapsed());
        }
        warm.sort();
        let median = percentile(&inits, 0.5);
        let ratio = match hello_init {
            None => {
                hello_init = Some(median);
                1.0
            }
            Some(h) => median / h,
        };
        let total = median + first;
        let total_ratio = match hello_total {
            None => {
                hello_total = Some(total);
                1.0
            }
            Some(h) => total / h,
        };
        println!(
            "| {binary} | {:.1} MB | {median:.1} ms | {ratio:.2}× | {first:.1} ms | {total_ratio:.2}× | {:.2} ms / {:.2} ms | {:.1} MB |",
            size as f64 / 1_048_576.0,
            percentile(&warm, 0.5),
            percentile(&warm, 0.99),
            lambda.peak_rss_kib().unwrap_or(0) as f64 / 1024.0
        );
        drop(lambda);
    }
    Ok(())
}
