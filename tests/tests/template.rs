//! template.yaml, functions/ and the local gateway agree one to one, and
//! every sample event in events/ is a request its function answers.

use std::collections::BTreeSet;

use evently_local::functions::http_handlers;
use evently_local::seed::SeedSize;
use evently_tests::{repo_root, template, Stack};

fn function_crates() -> BTreeSet<String> {
    std::fs::read_dir(repo_root().join("functions"))
        .expect("functions/")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn template_functions_crates_and_local_handlers_match_one_to_one() {
    let t = template();
    let in_template: BTreeSet<String> = t
        .functions
        .iter()
        .map(|(_, binary)| binary.clone())
        .collect();
    assert_eq!(
        in_template.len(),
        t.functions.len(),
        "two template functions build the same binary"
    );
    let local: BTreeSet<String> = http_handlers()
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .chain(
            evently_local::functions::EVENT_FUNCTIONS
                .iter()
                .map(|n| (*n).to_owned()),
        )
        .collect();
    assert_eq!(
        in_template,
        function_crates(),
        "template.yaml vs functions/"
    );
    assert_eq!(
        in_template, local,
        "template.yaml vs local/src/functions.rs"
    );
    let routed: BTreeSet<String> = t.routes.iter().map(|r| r.function.clone()).collect();
    let http: BTreeSet<String> = http_handlers()
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    assert_eq!(
        routed, http,
        "every HTTP function has a route, and only those"
    );
    let mut routes: Vec<(String, String)> = t
        .routes
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    let count = routes.len();
    routes.sort();
    routes.dedup();
    assert_eq!(routes.len(), count, "a route appears twice");
}

/// What the template says about the build: cargo-lambda, arm64,
/// provided.al2023, JSON logs, and the table's stream and TTL. (That every
/// function really builds for arm64 is scripts/package's to show.)
#[test]
fn the_template_builds_with_cargo_lambda_for_arm64_al2023_with_json_logs() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
    let globals = &doc["Globals"]["Function"];
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(globals["Architectures"][0].as_str(), Some("arm64"));
    assert_eq!(globals["LoggingConfig"]["LogFormat"].as_str(), Some("JSON"));
    for (id, res) in doc["Resources"].as_mapping().expect("resources") {
        if res["Type"].as_str() == Some("AWS::Serverless::Function") {
            assert_eq!(
                res["Metadata"]["BuildMethod"].as_str(),
                Some("rust-cargolambda"),
                "{id:?}"
            );
        }
    }
    let table = &doc["Resources"]["EventlyTable"]["Properties"];
    assert_eq!(
        table["StreamSpecification"]["StreamViewType"].as_str(),
        Some("NEW_AND_OLD_IMAGES")
    );
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some("ttl")
    );
}

/// Settings a deployment relies on to survive faults and keep secrets.
#[test]
fn deployed_settings_keep_runs_apart_secrets_out_of_logs_and_test_cards_off() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
    let levels: Vec<&str> = doc["Parameters"]["LogLevel"]["AllowedValues"]
        .as_sequence()
        .expect("levels")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        !levels.contains(&"TRACE"),
        "TRACE logs whole requests: {levels:?}"
    );
    assert_eq!(
        doc["Parameters"]["PaymentProvider"]["Default"].as_str(),
        Some("none"),
        "a deployment takes no test cards unless told to"
    );
    let resources = &doc["Resources"];
    let sweeper = &resources["WaitlistSweeperFunction"]["Properties"];
    let timeout = sweeper["Timeout"].as_u64().expect("sweeper timeout");
    assert_eq!(
        sweeper["Events"]["EveryMinute"]["Properties"]["ScheduleExpression"].as_str(),
        Some("rate(1 minute)")
    );
    assert!(
        timeout < 60,
        "a sweep must end before the next starts: {timeout}"
    );
    let worker_timeout = resources["WaitlistWorkerFunction"]["Properties"]["Timeout"]
        .as_u64()
        .expect("worker timeout");
    let visibility = resources["WaitlistQueue"]["Properties"]["VisibilityTimeout"]
        .as_u64()
        .expect("visibility");
    assert!(
        visibility >= 6 * worker_timeout,
        "Lambda's advice for SQS sources"
    );
    for f in [
        "BookingsConfirmFunction",
        "BookingsCancelFunction",
        "WaitlistWorkerFunction",
        "WaitlistSweeperFunction",
    ] {
        assert!(
            !resources[f]["Properties"]["Environment"]["Variables"]["PAYMENT_PROVIDER"].is_null(),
            "{f} must be told which payment provider to use"
        );
    }
}

/// Fills the placeholders of a sample with a real event id and token.
fn fill(text: &str, event_id: &str, token: &str, organizer: &str) -> String {
    text.replace("__EVENT_ID__", event_id)
        .replace("__ACCESS_TOKEN__", token)
        .replace("__ORGANIZER_TOKEN__", organizer)
}

/// What it checks is in its name: each route exists and nothing answers 5xx.
/// That each answer is the right one is the other tests' business (the
/// samples through the real binaries: tests/tests/binaries.rs).
#[tokio::test]
async fn every_route_is_served_and_no_sample_event_gets_a_server_error() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let demo = stack.event_id(evently_tests::DEMO_NIGHT);
    let token = stack
        .login("user3@example.com", evently_tests::DEMO_PASSWORD)
        .await;
    let organizer = stack
        .login("organizer@example.com", evently_tests::DEMO_PASSWORD)
        .await;
    let t = template();
    let handlers = http_handlers();
    for route in &t.routes {
        // Through the gateway: the route exists (anything but "no route").
        let path = route.path.replace("{event_id}", &demo);
        let req = stack
            .http
            .request(route.method.parse().expect("method"), stack.url(&path));
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        assert!(
            !(status == 404 && body.contains("no route")),
            "{} {} not served",
            route.method,
            route.path
        );
        assert!(
            status < 500,
            "{} {} → {status} {body}",
            route.method,
            route.path
        );

        // The sample in events/ parses as an API Gateway request and the
        // function answers it without a server error.
        let sample = repo_root()
            .join("events")
            .join(format!("{}.json", route.function));
        let text = std::fs::read_to_string(&sample)
            .unwrap_or_else(|_| panic!("missing {}", sample.display()));
        let req = lambda_http::request::from_str(&fill(&text, &demo, &token, &organizer))
            .unwrap_or_else(|e| panic!("{}: {e}", sample.display()));
        let handler = handlers
            .iter()
            .find(|(n, _)| *n == route.function)
            .expect("handler")
            .1;
        let resp = handler(stack.app, req).await;
        assert!(
            resp.status().as_u16() < 500,
            "{}: {}",
            sample.display(),
            resp.status()
        );
    }
}

#[test]
fn openapi_documents_every_route_of_the_template() {
    let text =
        std::fs::read_to_string(repo_root().join("docs/openapi.yaml")).expect("docs/openapi.yaml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
    assert_eq!(doc["openapi"].as_str(), Some("3.1.0"));
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_mapping()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            let path = path.as_str().unwrap_or_default().to_owned();
            item.as_mapping()
                .into_iter()
                .flatten()
                .filter_map(|(m, _)| m.as_str())
                .filter(|m| ["get", "post", "put", "patch", "delete"].contains(m))
                .map(move |m| (m.to_ascii_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .filter(|(_, p)| !p.starts_with("/_dev/"))
        .collect();
    let routed: BTreeSet<(String, String)> = template()
        .routes
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(documented, routed);
}

#[test]
fn the_event_function_samples_decode_as_their_lambda_events() {
    let read =
        |name: &str| std::fs::read_to_string(repo_root().join("events").join(name)).expect(name);
    let stream: aws_lambda_events::event::dynamodb::Event =
        serde_json::from_str(&read("waitlist-stream.json")).expect("DynamoDB stream event");
    let record = &stream.records[0];
    let new: serde_json::Value =
        serde_dynamo::from_item(record.change.new_image.clone()).expect("image");
    assert_eq!(new["status"], "reserved");
    let sqs: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_str(&read("waitlist-worker.json")).expect("SQS event");
    let body: evently_waitlist::SeatsReleased =
        serde_json::from_str(sqs.records[0].body.as_deref().unwrap_or("")).expect("message");
    assert_eq!(body.seat_ids.len(), 2);
    let stream: aws_lambda_events::event::dynamodb::Event =
        serde_json::from_str(&read("analytics-stream.json")).expect("DynamoDB stream event");
    let new: serde_json::Value =
        serde_dynamo::from_item(stream.records[0].change.new_image.clone()).expect("image");
    let record = evently_analytics::Record {
        id: stream.records[0].event_id.clone(),
        sequence_number: "1".into(),
        at: 0,
        old: None,
        new: Some(new),
    };
    assert_eq!(
        evently_analytics::domain_event(&record).map(|e| e.detail_type),
        Some("BookingConfirmed")
    );
    let _: aws_lambda_events::event::eventbridge::EventBridgeEvent =
        serde_json::from_str(&read("waitlist-sweeper.json")).expect("scheduled event");
}

#[test]
fn every_route_throttle_names_a_route_of_the_template() {
    // A RouteSettings key that names no route is accepted by CloudFormation
    // and throttles nothing: a typo would leave a route at the default.
    let t = template();
    let api = t.doc["Resources"]["HttpApi"]["Properties"].clone();
    let keys: Vec<String> = api["RouteSettings"]
        .as_mapping()
        .expect("RouteSettings")
        .keys()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();
    assert!(keys.len() >= 5, "{keys:?}");
    for key in &keys {
        assert!(
            t.routes
                .iter()
                .any(|r| format!("{} {}", r.method, r.path) == *key),
            "RouteSettings `{key}` is no route of template.yaml"
        );
    }
    let hold = t
        .routes
        .iter()
        .find(|r| r.path == "/api/v1/seats/hold" && r.method == "POST")
        .and_then(|r| r.throttle)
        .expect("the hold route's throttle");
    let login = t
        .routes
        .iter()
        .find(|r| r.path == "/api/v1/auth/login")
        .and_then(|r| r.throttle)
        .expect("login's throttle");
    assert!(hold.rate > login.rate, "{hold:?} {login:?}");
}

/// The catalog list throttled to a burst of 3, refilled at 1 per second.
fn catalog_throttled(text: String) -> String {
    text.replacen(
        "      RouteSettings:\n",
        "      RouteSettings:\n        \"GET /api/v1/events\":\n          ThrottlingBurstLimit: 3\n          ThrottlingRateLimit: 1\n",
        1,
    )
}

#[tokio::test]
async fn the_local_gateway_throttles_each_route_as_the_template_says() {
    let stack = Stack::start_opts(evently_tests::Options {
        seed: Some(SeedSize::Small),
        template_edit: Some(catalog_throttled),
        ..Default::default()
    })
    .await;
    let answers = futures::future::join_all((0..10).map(|_| async {
        let resp = stack
            .http
            .get(stack.url("/api/v1/events"))
            .send()
            .await
            .expect("send");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("body"))
    }))
    .await;
    let ok = answers.iter().filter(|(s, _)| *s == 200).count();
    let throttled: Vec<&String> = answers
        .iter()
        .filter(|(s, _)| *s == 429)
        .map(|(_, b)| b)
        .collect();
    assert_eq!((ok, throttled.len()), (3, 7), "{answers:?}");
    // API Gateway's own answer: the function never ran.
    assert!(throttled
        .iter()
        .all(|b| *b == r#"{"message":"Too Many Requests"}"#));
    // Another route keeps its own bucket; the throttled one refills.
    let demo = stack.event_id(evently_tests::DEMO_NIGHT);
    assert_eq!(
        stack.get(&format!("/api/v1/events/{demo}"), None).await.0,
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(stack.get("/api/v1/events", None).await.0, 200);
}
