//! The deployed entry points, run: every function's real binary (its
//! `main.rs` — environment, clients built once, the runtime loop) under the
//! local Lambda Runtime API (local/src/lambda.rs), with the environment and
//! identity template.yaml gives it, against the local stack. Driven by the
//! seed's flows through the gateway (every HTTP function), the table's
//! stream (both stream functions, through their filters), the queue (the
//! worker) and the schedule (the sweeper), and by the sample events in
//! events/.
//!
//! Needs the debug binaries: scripts/test builds them (`cargo build` of
//! every function crate) before `cargo test`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use evently_local::lambda::LocalLambda;
use evently_local::seed::SeedSize;
use evently_tests::{repo_root, Stack, DEMO_NIGHT, DEMO_PASSWORD};
use serde_json::{json, Value};

/// target/debug, where cargo put this test's binary's siblings.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug")
        .to_path_buf()
}

fn all_binaries() -> Vec<String> {
    evently_tests::template()
        .functions
        .iter()
        .map(|(_, b)| b.clone())
        .collect()
}

struct Deployed {
    stack: Stack,
    base: String,
    http: reqwest::Client,
    lambdas: HashMap<String, Arc<LocalLambda>>,
    sender: String,
    /// The EdgeKey secret's value (what CloudFront sends the API).
    edge_key: String,
}

impl Deployed {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn login(&self, email: &str) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": email, "password": DEMO_PASSWORD})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().expect("token").to_owned()
    }
}

/// A stack whose every function runs as its real binary.
async fn deploy() -> Deployed {
    let dir = bin_dir();
    let binaries = all_binaries();
    let missing: Vec<&String> = binaries.iter().filter(|b| !dir.join(b).exists()).collect();
    assert!(
        missing.is_empty(),
        "function binaries missing from {}: {missing:?} — scripts/test builds them \
         (cargo build -p <function>…) before cargo test",
        dir.display()
    );
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let endpoint = stack.endpoint.clone();
    let table = stack.app.store.table().to_owned();
    let template = evently_tests::template();
    let admin = evently_store::aws::local_sdk_config(&endpoint);
    // The signing key lives in Secrets Manager, as deployed.
    let secret_arns = evently_local::provision::secrets(
        &admin,
        &template,
        &table,
        "binaries-test-signing-key-at-least-32-bytes",
    )
    .await
    .expect("secret");
    // The gateway's address goes into the functions' environment (claim
    // links): take a free port first.
    let port = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let sender = format!("bin-{}@evently.test", evently_core::new_id().to_lowercase());
    let mut names = evently_local::iam::stack_names(
        &endpoint,
        stack.oracle.client(),
        &table,
        &[
            ("SenderEmail", sender.as_str()),
            ("PublicBaseUrl", base.as_str()),
            // A staging deployment's choice: the test cards work.
            ("PaymentProvider", "simulator"),
        ],
        true,
    )
    .await
    .expect("names");
    let edge_key = aws_sdk_secretsmanager::Client::new(&admin)
        .get_secret_value()
        .secret_id(&secret_arns["EdgeKey"])
        .send()
        .await
        .expect("edge secret")
        .secret_string()
        .expect("a string")
        .to_owned();
    names.secret_arns = secret_arns;
    let identities = evently_local::iam::register(&endpoint, &template, &names)
        .await
        .expect("policies");
    let logs = repo_root().join(".local").join("lambda-logs");
    std::fs::create_dir_all(&logs).expect("log dir");
    let names_ref: Vec<&str> = binaries.iter().map(String::as_str).collect();
    let lambdas = evently_local::lambda::start_all(
        &template,
        &names,
        &identities,
        &dir,
        &names_ref,
        Some(&logs),
    )
    .await
    .expect("every binary starts under the Runtime API");
    let (_addr, _task) = evently_local::start_gateway_with(
        stack.app,
        &identities,
        &template,
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        &endpoint,
        lambdas.clone(),
    )
    .await
    .expect("gateway");
    let mut settings = evently_local::EventSettings::from_env(base.clone());
    settings.sender = sender.clone();
    settings.stream_poll = std::time::Duration::from_millis(100);
    settings.sweep_every = std::time::Duration::from_secs(3600);
    settings.lambdas = lambdas.clone();
    let sources = evently_local::start_event_sources_with(
        stack.app,
        &identities,
        &template,
        &admin,
        settings,
    )
    .await
    .expect("event sources");
    std::mem::forget(sources);
    Deployed {
        stack,
        base,
        http: reqwest::Client::new(),
        lambdas,
        sender,
        edge_key,
    }
}

#[tokio::test]
async fn the_real_binaries_serve_the_seed_flows_under_the_runtime_api() {
    use reqwest::Method;
    let d = deploy().await;
    let demo = d.stack.event_id(DEMO_NIGHT);
    // Every binary got through its init (environment, clients) and asked
    // for work.
    assert_eq!(d.lambdas.len(), all_binaries().len());

    // The catalog (events-list, events-get, venue-layout, seats-available).
    let (status, list) = d.call(Method::GET, "/api/v1/events", None, None).await;
    assert_eq!(status, 200, "{list}");
    assert!(list.to_string().contains(DEMO_NIGHT));
    for path in [
        format!("/api/v1/events/{demo}"),
        format!("/api/v1/events/{demo}/venue-layout"),
        format!("/api/v1/events/{demo}/seats/available"),
    ] {
        let (status, body) = d.call(Method::GET, &path, None, None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }

    // Accounts (auth-register, auth-login, auth-me): tokens signed with the
    // key read from Secrets Manager.
    let email = format!("bin-{}@example.com", evently_core::new_id().to_lowercase());
    let (status, reg) = d
        .call(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({"email": email, "password": "correct horse battery", "name": "Bin"})),
        )
        .await;
    assert_eq!(status, 201, "{reg}");
    let user1 = d.login("user1@example.com").await;
    let user2 = d.login("user2@example.com").await;
    let (status, me) = d
        .call(Method::GET, "/api/v1/auth/me", Some(&user1), None)
        .await;
    assert_eq!(
        (status, me["user"]["email"].as_str()),
        (200, Some("user1@example.com")),
        "{me}"
    );

    // Hold, release, hold again, pay (seats-hold, hold-release,
    // bookings-confirm), read (bookings-mine, bookings-get).
    let hold_body = json!({"event_id": demo, "section_id": "A", "seat_ids": ["A-1-1", "A-1-2"]});
    let (status, hold) = d
        .call(
            Method::POST,
            "/api/v1/seats/hold",
            Some(&user1),
            Some(hold_body.clone()),
        )
        .await;
    assert_eq!(status, 201, "{hold}");
    let hold_id = hold["hold_id"].as_str().expect("hold id");
    let (status, _) = d
        .call(
            Method::DELETE,
            &format!("/api/v1/seats/hold/{hold_id}"),
            Some(&user1),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, hold) = d
        .call(
            Method::POST,
            "/api/v1/seats/hold",
            Some(&user1),
            Some(hold_body),
        )
        .await;
    assert_eq!(status, 201, "{hold}");
    let (status, booked) = d
        .call(
            Method::POST,
            "/api/v1/bookings/confirm",
            Some(&user1),
            Some(
                json!({"hold_id": hold["hold_id"], "payment_details": {"card_token": "tok_visa"}}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{booked}");
    let booking = booked["booking"]["id"]
        .as_str()
        .expect("booking")
        .to_owned();
    let (status, mine) = d
        .call(Method::GET, "/api/v1/bookings/me", Some(&user1), None)
        .await;
    assert_eq!(status, 200);
    assert!(mine.to_string().contains(&booking));
    let (status, one) = d
        .call(
            Method::GET,
            &format!("/api/v1/bookings/{booking}"),
            Some(&user1),
            None,
        )
        .await;
    assert_eq!(
        (status, one["booking"]["status"].as_str()),
        (200, Some("confirmed")),
        "{one}"
    );
    // Its confirmation email: written in the booking's transaction, handed
    // on by the stream binary from the notification's INSERT (Lambda's
    // event carries an empty old image there), sent by the worker binary
    // with a QR picture per ticket.
    let confirmation = d
        .stack
        .eventually_some(
            "user1's confirmation email, through the binaries",
            30,
            || async {
                d.stack.mailbox().await.into_iter().find(|m| {
                    m["from"] == d.sender.as_str()
                        && m["to"][0] == "user1@example.com"
                        && m["subject"]
                            .as_str()
                            .is_some_and(|s| s.starts_with("Your tickets for"))
                })
            },
        )
        .await;
    assert_eq!(
        confirmation["images"].as_array().map(Vec::len),
        Some(2),
        "{confirmation}"
    );

    // The waitlist (waitlist-join, waitlist-status), then a cancellation
    // (bookings-cancel) → stream → waitlist-stream → queue → waitlist-worker
    // → SES: the offer email, sent by the worker binary.
    let (status, entry) = d
        .call(
            Method::POST,
            "/api/v1/waitlist/join",
            Some(&user2),
            Some(json!({"event_id": demo, "quantity": 2})),
        )
        .await;
    assert_eq!(status, 201, "{entry}");
    let (status, cancelled) = d
        .call(
            Method::DELETE,
            &format!("/api/v1/bookings/{booking}/cancel"),
            Some(&user1),
            None,
        )
        .await;
    assert_eq!(status, 200, "{cancelled}");
    let offer = d
        .stack
        .eventually_some("the offer made by the worker binary", 30, || async {
            let (_, st) = d
                .call(
                    Method::GET,
                    &format!("/api/v1/waitlist/status/{demo}"),
                    Some(&user2),
                    None,
                )
                .await;
            (st["entry"]["status"] == "offered").then(|| st["entry"]["offer"].clone())
        })
        .await;
    assert!(offer.is_object(), "the worker binary made no offer");
    let email = d
        .stack
        .eventually_some("the offer email, sent by the worker binary", 30, || async {
            d.stack.mailbox().await.into_iter().find(|m| {
                m["from"] == d.sender.as_str()
                    && m["subject"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("Your seats for"))
            })
        })
        .await;
    // The email links to the web app's page for the status's claim under
    // PUBLIC_BASE_URL (the worker's environment from the template).
    let claim = offer["claim_url"].as_str().expect("claim url");
    let path = claim.trim_start_matches(&d.base);
    let token = path
        .strip_prefix("/api/v1/waitlist/offers/")
        .expect("an API path");
    let text = email["text"].as_str().unwrap_or("");
    assert!(
        text.contains(&format!("{}/offers/{token}", d.base)),
        "{claim} in {text}"
    );
    // The claim link (offers-get), then booking the offer.
    let (status, shown) = d.call(Method::GET, path, None, None).await;
    assert_eq!(status, 200, "{shown}");
    let (status, claimed) = d
        .call(
            Method::POST,
            "/api/v1/bookings/confirm",
            Some(&user2),
            Some(
                json!({"hold_id": offer["hold_id"], "payment_details": {"card_token": "tok_visa"}}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{claimed}");
    let (status, notes) = d
        .call(Method::GET, "/api/v1/notifications/me", Some(&user2), None)
        .await;
    assert_eq!(status, 200, "{notes}");
    assert!(notes.to_string().contains("offer"), "{notes}");

    // Leaving the line (waitlist-leave): user3 joins the sold-out event
    // again and leaves.
    let user3 = d.login("user3@example.com").await;
    let (status, joined) = d
        .call(
            Method::POST,
            "/api/v1/waitlist/join",
            Some(&user3),
            Some(json!({"event_id": demo, "quantity": 1})),
        )
        .await;
    assert_eq!(status, 201, "{joined}");
    let (status, left) = d
        .call(
            Method::DELETE,
            &format!("/api/v1/waitlist/{demo}"),
            Some(&user3),
            None,
        )
        .await;
    assert!(status == 200 || status == 204, "{status} {left}");

    // The organizer (admin-venues, admin-events, admin-analytics), with
    // the counters the analytics-stream binary keeps.
    let organizer = d.login("organizer@example.com").await;
    for path in [
        "/api/v1/admin/venues",
        "/api/v1/admin/events",
        "/api/v1/admin/analytics",
    ] {
        let (status, body) = d.call(Method::GET, path, Some(&organizer), None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    // user1's booking cancelled, user2's from the offer: what the
    // analytics-stream binary counted from the stream.
    let mut figures = Value::Null;
    for _ in 0..100 {
        let (_, a) = d
            .call(
                Method::GET,
                &format!("/api/v1/admin/events/{demo}/analytics"),
                Some(&organizer),
                None,
            )
            .await;
        figures = a;
        if figures["sold"] == 2
            && figures["cancellations"] == 1
            && figures["waitlist"]["converted"] == 1
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        (
            &figures["sold"],
            &figures["cancellations"],
            &figures["waitlist"]["converted"]
        ),
        (&json!(2), &json!(1), &json!(1)),
        "{figures}"
    );

    // The sweeper binary, as its schedule invokes it.
    let swept = d.lambdas["waitlist-sweeper"]
        .invoke(&evently_local::events::scheduled_event())
        .await;
    assert!(swept.is_ok(), "{swept:?}");
}

/// Fills a sample's placeholders.
fn fill(text: &str, event_id: &str, token: &str, organizer: &str) -> String {
    text.replace("__EVENT_ID__", event_id)
        .replace("__ACCESS_TOKEN__", token)
        .replace("__ORGANIZER_TOKEN__", organizer)
}

#[tokio::test]
async fn every_sample_event_is_answered_by_its_binary_and_the_worker_reports_partial_failures() {
    let d = deploy().await;
    let demo = d.stack.event_id(DEMO_NIGHT);
    let token = d.login("user3@example.com").await;
    let organizer = d.login("organizer@example.com").await;
    let template = evently_tests::template();
    let http: Vec<&str> = template
        .routes
        .iter()
        .map(|r| r.function.as_str())
        .collect();
    for binary in all_binaries() {
        let path = repo_root().join("events").join(format!("{binary}.json"));
        let text = std::fs::read_to_string(&path).expect("every function has a sample");
        let event: Value =
            serde_json::from_str(&fill(&text, &demo, &token, &organizer)).expect("sample parses");
        let answer = d.lambdas[&binary]
            .invoke(&event)
            .await
            .unwrap_or_else(|e| panic!("{binary}: {e}"));
        if http.contains(&binary.as_str()) {
            // An API Gateway answer, and not a server error.
            let status = answer["statusCode"].as_u64().unwrap_or(0);
            assert!((200..500).contains(&status), "{binary}: {answer}");
        } else if !["waitlist-sweeper", "queue-admit"].contains(&binary.as_str()) {
            // Stream and queue functions answer with partial batch
            // failures; their samples all succeed.
            assert_eq!(answer["batchItemFailures"], json!([]), "{binary}: {answer}");
        }
    }
    // A batch with one unreadable message: only that one is handed back
    // (ReportBatchItemFailures), the other is done.
    let sample: Value = serde_json::from_str(&fill(
        &std::fs::read_to_string(repo_root().join("events/waitlist-worker.json")).expect("sample"),
        &demo,
        &token,
        &organizer,
    ))
    .expect("sample");
    let good = sample["Records"][0].clone();
    let mut bad = good.clone();
    bad["messageId"] = json!("unreadable-1");
    bad["body"] = json!("{not json");
    let answer = d.lambdas["waitlist-worker"]
        .invoke(&json!({"Records": [good, bad]}))
        .await
        .expect("worker answers");
    assert_eq!(
        answer["batchItemFailures"],
        json!([{"itemIdentifier": "unreadable-1"}]),
        "{answer}"
    );
}

#[tokio::test]
async fn behind_cloudfront_the_binaries_count_failures_against_the_viewer_named_with_the_edge_secret(
) {
    use reqwest::Method;
    let d = deploy().await;
    let user2 = d.login("user2@example.com").await;
    // As CloudFront sends them: the viewer's address and the edge secret.
    let from = |viewer: &str, key: &str, method: Method, path: &str| {
        d.http
            .request(method, format!("{}{path}", d.base))
            .header("x-evently-viewer-ip", viewer)
            .header("x-evently-edge", key)
    };
    let counted = |subject: String| {
        let store = d.stack.oracle.clone();
        async move {
            let limit = evently_store::Limit {
                subject,
                max_failures: 1,
                window_secs: 900,
            };
            // The binaries keep the real clock.
            store
                .throttled(&[limit], chrono::Utc::now())
                .await
                .expect("read")
                .is_some()
        }
    };
    let key = d.edge_key.clone();
    let bad_login = json!({"email": "user1@example.com", "password": "not the password"});
    let status =
        |r: reqwest::RequestBuilder| async move { r.send().await.expect("send").status().as_u16() };
    // auth-login, auth-register, auth-password-reset, auth-password: each
    // reads the secret (its own grant) and counts against the viewer.
    assert_eq!(
        status(from("198.51.100.21", &key, Method::POST, "/api/v1/auth/login").json(&bad_login))
            .await,
        401
    );
    assert!(counted("login-ip#198.51.100.21".into()).await, "login");
    let taken =
        json!({"email": "user1@example.com", "password": "correct horse battery", "name": "Dup"});
    assert_eq!(
        status(from("198.51.100.22", &key, Method::POST, "/api/v1/auth/register").json(&taken))
            .await,
        409
    );
    assert!(
        counted("register-ip#198.51.100.22".into()).await,
        "register"
    );
    assert_eq!(
        status(
            from(
                "198.51.100.23",
                &key,
                Method::POST,
                "/api/v1/auth/password-reset"
            )
            .json(&json!({"email": "user3@example.com"}))
        )
        .await,
        202
    );
    assert!(counted("reset-ip#198.51.100.23".into()).await, "reset");
    assert_eq!(
        status(
            from("198.51.100.24", &key, Method::POST, "/api/v1/auth/password")
                .bearer_auth(&user2)
                .json(
                    &json!({"current_password": "not it", "new_password": "a whole new password"})
                )
        )
        .await,
        403
    );
    assert!(
        counted("login-ip#198.51.100.24".into()).await,
        "password change"
    );
    // The connection's own address was charged for none of that; a wrong
    // secret is: the named address is not believed.
    assert!(!counted("login-ip#127.0.0.1".into()).await);
    assert_eq!(
        status(
            from(
                "198.51.100.25",
                "a guess",
                Method::POST,
                "/api/v1/auth/login"
            )
            .json(&bad_login)
        )
        .await,
        401
    );
    assert!(!counted("login-ip#198.51.100.25".into()).await);
    assert!(counted("login-ip#127.0.0.1".into()).await);
}
