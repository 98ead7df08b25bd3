//! The stream mappings' FilterCriteria from template.yaml, applied locally
//! as Lambda applies them (local/src/filter.rs): the operators' semantics,
//! what the template's own patterns let through, and — through the whole
//! stack — that a record a filter drops never reaches its function.

use evently_local::filter::{passes, Pattern};
use evently_local::seed::SeedSize;
use evently_tests::{Stack, DEMO_NIGHT};
use serde_json::{json, Value};

fn pattern(p: Value) -> Pattern {
    Pattern::parse(&p.to_string()).expect("valid pattern")
}

/// A stream record as the DynamoDB event carries it.
fn record(keys: (&str, &str), new: Option<Value>) -> Value {
    let mut dynamodb = json!({"Keys": {"PK": {"S": keys.0}, "SK": {"S": keys.1}}});
    if let Some(img) = new {
        dynamodb["NewImage"] = img;
    }
    json!({"eventName": "MODIFY", "eventSource": "aws:dynamodb", "dynamodb": dynamodb})
}

#[test]
fn operators_follow_lambdas_filter_rules() {
    let event = json!({"a": {"s": "SEAT#A-1", "n": 5, "list": ["x", "y"], "flag": true}});
    let cases = [
        (json!({"a": {"s": [{"prefix": "SEAT#"}]}}), true),
        (json!({"a": {"s": [{"prefix": "ENTRY#"}]}}), false),
        (json!({"a": {"s": [{"suffix": "-1"}]}}), true),
        (
            json!({"a": {"s": [{"equals-ignore-case": "seat#a-1"}]}}),
            true,
        ),
        (json!({"a": {"s": [{"anything-but": ["SEAT#A-1"]}]}}), false),
        (
            json!({"a": {"s": [{"anything-but": {"prefix": "HOLD"}}]}}),
            true,
        ),
        (json!({"a": {"s": [{"anything-but": "other"}]}}), true),
        (json!({"a": {"missing": [{"exists": false}]}}), true),
        (json!({"a": {"missing": [{"exists": true}]}}), false),
        (json!({"a": {"s": [{"exists": true}]}}), true),
        (json!({"a": {"n": [{"numeric": [">", 0, "<=", 5]}]}}), true),
        (json!({"a": {"n": [{"numeric": ["<", 5]}]}}), false),
        (json!({"a": {"n": [5]}}), true),
        (json!({"a": {"list": ["y"]}}), true),
        (json!({"a": {"list": ["z"]}}), false),
        (json!({"a": {"flag": [true]}}), true),
        // Every key must match; within a list any matcher may.
        (
            json!({"a": {"s": ["nope", {"prefix": "SEAT"}], "n": [5]}}),
            true,
        ),
        (json!({"a": {"s": [{"prefix": "SEAT"}], "n": [6]}}), false),
        // A nested pattern over a missing object matches nothing but
        // exists:false.
        (json!({"b": {"c": ["x"]}}), false),
        (json!({"b": {"c": [{"exists": false}]}}), true),
    ];
    for (p, want) in cases {
        assert_eq!(pattern(p.clone()).matches(&event), want, "{p}");
    }
    // Filters of one mapping are alternatives; none at all passes all.
    let either = [
        pattern(json!({"a": {"n": [1]}})),
        pattern(json!({"a": {"n": [5]}})),
    ];
    assert!(passes(&either, &event));
    assert!(passes(&[], &event));
}

#[test]
fn patterns_lambda_would_refuse_are_refused() {
    for bad in [
        r#"{"a": "x"}"#,
        r#"{"a": []}"#,
        r#"{"a": [{"prefix": 1}]}"#,
        r#"{"a": [{"numeric": [">", "x"]}]}"#,
        r#"{"a": [{"frobnicate": "x"}]}"#,
        r#"["a"]"#,
        "not json",
    ] {
        assert!(Pattern::parse(bad).is_err(), "{bad} should be refused");
    }
}

#[test]
fn the_templates_patterns_pass_what_each_function_needs_and_nothing_else() {
    let template = evently_tests::template();
    let waitlist = template.stream_filters("waitlist-stream").expect("filters");
    let analytics = template
        .stream_filters("analytics-stream")
        .expect("filters");
    assert!(!waitlist.is_empty() && !analytics.is_empty());
    let seat = |status: &str| {
        record(
            ("EVENT#e#SECTION#A#ROW#001", "SEAT#A-1-1"),
            Some(json!({"entity": {"S": "seat"}, "status": {"S": status}})),
        )
    };
    // The waitlist function: seats released to the waitlist, cancelled
    // events, drafts asking for seating runs.
    assert!(passes(&waitlist, &seat("reserved")));
    for status in ["available", "held", "booked"] {
        assert!(!passes(&waitlist, &seat(status)), "{status}");
    }
    let event = |status: &str| {
        record(
            ("EVENT#e", "EVENT"),
            Some(json!({"entity": {"S": "event"}, "status": {"S": status}})),
        )
    };
    assert!(passes(&waitlist, &event("cancelled")));
    assert!(!passes(&waitlist, &event("published")));
    // A draft whose seating job was asked for another run; not its
    // creation (runs 0: the request writes first), nor a finished one.
    let draft = |seating: &str, runs: &str| {
        record(
            ("EVENT#e", "EVENT"),
            Some(json!({"entity": {"S": "event"}, "status": {"S": "draft"},
                        "seating": {"S": seating}, "seating_runs": {"N": runs}})),
        )
    };
    assert!(passes(&waitlist, &draft("materialising", "1")));
    assert!(passes(&waitlist, &draft("materialising", "12")));
    assert!(!passes(&waitlist, &draft("materialising", "0")));
    assert!(!passes(&waitlist, &draft("ready", "3")));
    // A refund recorded as owed, when inserted; not the sweeper's rewrite
    // of one (MODIFY), nor its deletion once paid (no new image).
    let refund = |name: &str, image: bool| {
        let mut r = record(
            ("REFUND#b", "REFUND"),
            image.then(|| json!({"entity": {"S": "refund_due"}})),
        );
        r["eventName"] = json!(name);
        r
    };
    assert!(passes(&waitlist, &refund("INSERT", true)));
    assert!(!passes(&waitlist, &refund("MODIFY", true)));
    assert!(!passes(&waitlist, &refund("REMOVE", false)));
    // The seat maps' records (the analytics function's own writes) feed
    // nobody.
    let map_row = record(
        ("EVENT#e#MAP#A", "ROW#001"),
        Some(json!({"entity": {"S": "seat_map"}})),
    );
    assert!(!passes(&waitlist, &map_row) && !passes(&analytics, &map_row));
    assert!(
        !passes(
            &waitlist,
            &record(("EVENT#e#SECTION#A#ROW#001", "SEAT#A-1-1"), None)
        ),
        "a delete has no NewImage"
    );
    // The analytics function: the items it counts, by sort key.
    for sk in [
        "EVENT",
        "BOOKING",
        "HOLD",
        "OFFER",
        "SEAT#A-1-1",
        "ENTRY#0001",
    ] {
        assert!(passes(&analytics, &record(("X", sk), None)), "{sk}");
    }
    for sk in [
        "PROFILE",
        "EMAIL",
        "IDEMPOTENCY",
        "ANALYTICS",
        "HOLDS#e",
        "LOCK",
    ] {
        assert!(!passes(&analytics, &record(("X", sk), None)), "{sk}");
    }
}

#[tokio::test]
async fn records_the_filters_drop_never_reach_the_stream_functions() {
    let stack = Stack::start_with_waitlist(
        Some(SeedSize::Small),
        evently_waitlist::EngineConfig::default(),
        std::time::Duration::from_secs(3600),
    )
    .await;
    let sources = stack.events.as_ref().expect("event sources");
    let waitlist = sources.delivered["waitlist-stream"].clone();
    let analytics = sources.delivered["analytics-stream"].clone();
    let demo = stack.event_id(DEMO_NIGHT);
    // A registration writes only items the analytics filter drops.
    let (status, _) = stack
        .post(
            "/api/v1/auth/register",
            &json!({"email": format!("f-{}@example.com", evently_core::new_id().to_lowercase()),
                    "password": "correct horse battery", "name": "Filter"}),
        )
        .await;
    assert_eq!(status, 201);
    let user2 = stack.demo_night_cancelled_with_a_waiter().await;
    stack
        .eventually("the offer to user2", 20, || async {
            stack
                .get(&format!("/api/v1/waitlist/status/{demo}"), Some(&user2))
                .await
                .1["entry"]["status"]
                == "offered"
        })
        .await;
    stack
        .eventually("the analytics function to see the booking", 10, || async {
            analytics.keys().iter().any(|(_, sk)| sk == "BOOKING")
        })
        .await;
    // The waitlist function saw the two seats released to the waitlist,
    // the refund the cancellation recorded and the booking's two emails
    // (confirmation, cancellation), and nothing else: not the holds,
    // bookings, entries, seats taken, the offer's email (the worker sends
    // it itself) or the refund record's deletion once paid.
    let seen = waitlist.keys();
    assert!(!seen.is_empty());
    let booking_email =
        |sk: &str| sk.contains("#booking_confirmed-") || sk.contains("#booking_cancelled-");
    assert!(
        seen.iter().all(|(_, sk)| sk == "SEAT#A-1-1"
            || sk == "SEAT#A-1-2"
            || sk == "REFUND"
            || booking_email(sk)),
        "{seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|(_, sk)| booking_email(sk)).count(),
        2,
        "{seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|(_, sk)| sk == "REFUND").count(),
        1,
        "{seen:?}"
    );
    // The analytics function saw only the kinds of item it counts.
    let counted = ["EVENT", "BOOKING", "HOLD", "OFFER"];
    for (pk, sk) in analytics.keys() {
        assert!(
            counted.contains(&sk.as_str()) || sk.starts_with("SEAT#") || sk.starts_with("ENTRY#"),
            "analytics was given {pk} {sk}"
        );
    }
}
