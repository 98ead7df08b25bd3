//! `evently-bench-faults`: the same on-sale twice — once with the local AWS
//! endpoint behaving, once under a storm of injected faults on the bench's
//! table (throttling, provisioned-throughput errors, transaction
//! conflicts, 500s, answers after the client gave up; SES throttling) —
//! with clients that retry on 429/503 with their Idempotency-Key. Prints a
//! Markdown table for docs/benchmarks.md: injected faults per operation,
//! client retries, latency, and the ledger (charges, bookings, refunds,
//! oversold). Run by scripts/bench; one run, read as ratios.
//!
//! BENCH_FAULT_BUYERS (48) buyers, two per pair of seats.

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use evently_core::{BookingStatus, SimulatedPayments};
use evently_http::{App, Config};
use evently_local::template::Template;
use evently_store::Store;
use serde_json::{json, Value};

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Outcome {
    booked: Option<String>,
    /// The last answer this buyer got, e.g. "hold 409" or "confirm 201".
    answer: String,
    retries: usize,
    elapsed: Duration,
}

/// One client: POST until the answer is not "try again".
async fn until_answered(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
    key: &str,
    retries: &mut usize,
) -> Result<(u16, Value), Error> {
    for _ in 0..300 {
        let sent = http
            .post(url)
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(body)
            .timeout(Duration::from_secs(20))
            .send()
            .await;
        let Ok(resp) = sent else {
            *retries += 1;
            continue;
        };
        let status = resp.status().as_u16();
        let wait = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let value: Value = serde_json::from_str(&resp.text().await?).unwrap_or(Value::Null);
        if status == 429 || status == 503 {
            *retries += 1;
            tokio::time::sleep(Duration::from_millis(200 * wait.unwrap_or(1).clamp(1, 5))).await;
            continue;
        }
        return Ok((status, value));
    }
    Err(format!("{url}: no answer after 300 tries").into())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

async fn injected(http: &reqwest::Client, endpoint: &str) -> Result<BTreeMap<String, u64>, Error> {
    let status: Value = http
        .get(format!("{endpoint}/_evently/faults"))
        .send()
        .await?
        .json()
        .await?;
    Ok(status["injected"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default())
}

struct Row {
    told: usize,
    bookings: usize,
    oversold: usize,
    unbooked_refunded: usize,
    unbooked_open: usize,
    retries: usize,
    latency: Vec<Duration>,
    run: Run,
}

struct Run {
    outcomes: Vec<Outcome>,
    wall: Duration,
    faults: BTreeMap<String, u64>,
}

/// An event of 100 seats, then `buyers` clients at once, two per pair.
async fn on_sale(
    app: &'static App,
    base: &str,
    endpoint: &str,
    buyers: usize,
    faults: bool,
) -> Result<(String, Run), Error> {
    let http = reqwest::Client::new();
    let table = app.store.table().to_owned();
    let (org_id, _) = user(app, "org", evently_core::Role::Organizer).await?;
    let event = bench_event(app, &org_id).await?;
    let mut tokens = Vec::new();
    for i in 0..buyers {
        tokens.push(
            user(app, &format!("buyer{i}"), evently_core::Role::Customer)
                .await?
                .1,
        );
    }
    let before = injected(&http, endpoint).await?;
    if faults {
        let rules: Vec<Value> = evently_local::bench::storm(3_300)
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mut r| {
                if r["service"] != "ses" {
                    r["tables"] = json!([table]);
                }
                r
            })
            .collect();
        http.post(format!("{endpoint}/_evently/faults?scope={table}"))
            .json(&json!({"seed": 2026, "rules": rules}))
            .send()
            .await?
            .error_for_status()?;
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let (http, base, event_id) = (http.clone(), base.to_owned(), event.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let mut retries = 0;
            let pair = i / 2;
            let seats = [
                format!("A-{}-{}", 1 + pair / 12, 1 + 2 * (pair % 12)),
                format!("A-{}-{}", 1 + pair / 12, 2 + 2 * (pair % 12)),
            ];
            let hold = json!({"event_id": event_id, "section_id": "A", "seat_ids": seats});
            let (status, held) = until_answered(
                &http,
                &format!("{base}/api/v1/seats/hold"),
                &token,
                &hold,
                &format!("h{i}"),
                &mut retries,
            )
            .await?;
            if status != 201 {
                return Ok::<_, Error>(Outcome {
                    booked: None,
                    answer: format!("hold {status}"),
                    retries,
                    elapsed: t.elapsed(),
                });
            }
            let confirm =
                json!({"hold_id": held["hold_id"], "payment_details": {"card_token": "tok_visa"}});
            let (status, booked) = until_answered(
                &http,
                &format!("{base}/api/v1/bookings/confirm"),
                &token,
                &confirm,
                &format!("c{i}"),
                &mut retries,
            )
            .await?;
            Ok(Outcome {
                answer: format!("confirm {status}"),
                booked: (status == 201)
                    .then(|| booked["booking"]["id"].as_str().map(str::to_owned))
                    .flatten(),
                retries,
                elapsed: t.elapsed(),
            })
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await??);
    }
    let wall = started.elapsed();
    http.delete(format!("{endpoint}/_evently/faults?scope={table}"))
        .send()
        .await?;
    let after = injected(&http, endpoint).await?;
    let faults = after
        .into_iter()
        .map(|(k, v)| {
            let was = before.get(&k).copied().unwrap_or(0);
            (k, v - was)
        })
        .filter(|(_, v)| *v > 0)
        .collect();
    Ok((
        event,
        Run {
            outcomes,
            wall,
            faults,
        },
    ))
}

async fn user(app: &App, name: &str, role: evently_core::Role) -> Result<(String, String), Error> {
    evently_local::bench::user_with_token(app, name, role).await
}

/// A published event of one section `A`: 4 rows of 25 seats at 50.00.
async fn bench_event(app: &App, owner: &str) -> Result<String, Error> {
    let venue: evently_core::admin::VenueInput = serde_json::from_value(json!({
        "name": "Bench Hall", "city": "Oslo",
        "sections": [{"id": "A", "name": "Stalls", "rows": 4, "seats_per_row": 25, "default_price": "50.00"}]
    }))?;
    let venue = venue.into_template(
        evently_core::new_id(),
        owner.to_owned(),
        "2026-01-01T00:00:00Z".into(),
    )?;
    app.store.put_venue(&venue).await?;
    let starts = app.clock.now() + chrono::Duration::days(10);
    let input: evently_core::admin::EventInput = serde_json::from_value(json!({
        "venue_id": venue.id, "name": "Bench night",
        "starts_at": evently_core::clock::rfc3339(starts),
        "ends_at": evently_core::clock::rfc3339(starts + chrono::Duration::hours(2)),
    }))?;
    let mut event = input.into_event(
        evently_core::new_id(),
        owner.to_owned(),
        &venue,
        app.clock.now(),
    )?;
    app.store.create_event(&event).await?;
    app.store
        .put_seats(
            &event.id,
            &venue.sections[0].seats(),
            "50.00".parse().map_err(|_| "price")?,
        )
        .await?;
    let read = event.clone();
    event.seating = evently_core::Seating::Ready;
    app.store.save_event(&event, &read).await?;
    let read = event.clone();
    event.status = evently_core::EventStatus::Published;
    app.store.save_event(&event, &read).await?;
    Ok(event.id)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let buyers: usize = std::env::var("BENCH_FAULT_BUYERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    let template = Template::load(std::path::Path::new("template.yaml"))?;
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| "AWS_ENDPOINT_URL is not set: run scripts/bench")?;
    if !endpoint.starts_with("http://127.0.0.1") {
        return Err(format!("benchmarks only talk to 127.0.0.1, not {endpoint}").into());
    }
    // Attempts time out after 3 s (the injected late answers come at 3.3 s):
    // shorter, and the endpoint's own queue under 48 buyers trips it.
    let sdk = evently_store::aws::local_sdk_config_timeouts(&endpoint, 3_000, 12_000);
    let client = evently_store::aws::dynamodb(&sdk);
    let table = format!("bench-faults-{}", evently_core::new_id().to_lowercase());
    evently_local::provision::create_table(&client, &template.tables[0], &table).await?;
    let ledger = Arc::new(SimulatedPayments::default());
    let mut app = App::new(
        Store::new(client, table.clone()),
        b"bench-signing-key-of-at-least-32-bytes",
        Config {
            request_budget_ms: Some(8_000),
            payment_settle_secs: 10,
            ..Config::default()
        },
    )?;
    app.payments = ledger.clone();
    let app: &'static App = Box::leak(Box::new(app));
    let sender = format!(
        "bench-{}@evently.test",
        evently_core::new_id().to_lowercase()
    );
    let identities = evently_local::iam::register_stack(
        &endpoint,
        &template,
        &evently_store::aws::local_client(&endpoint),
        &table,
        &[("SenderEmail", &sender)],
        true,
    )
    .await?;
    let (addr, _task) = evently_local::start_gateway(
        app,
        &identities,
        &template,
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        &endpoint,
    )
    .await?;
    let base = format!("http://{addr}");
    let mut settings = evently_local::EventSettings::from_env(base.clone());
    settings.sender = sender;
    settings.sweep_every = Duration::from_secs(1);
    settings.engine.payment_settle_secs = 10;
    let _sources =
        evently_local::start_event_sources_with(app, &identities, &template, &sdk, settings)
            .await?;

    let mut rows = Vec::new();
    for faults in [false, true] {
        let earlier: std::collections::HashSet<String> =
            ledger.ledger().charges.keys().cloned().collect();
        let (event, run) = on_sale(app, &base, &endpoint, buyers, faults).await?;
        // What the faults left open (payments whose request was lost) is
        // the sweeper's: give it time, then read the ledger.
        tokio::time::sleep(Duration::from_secs(if faults { 15 } else { 1 })).await;
        let bookings = app.store.event_bookings(&event).await?;
        let l = ledger.ledger();
        let paid: HashMap<&str, &evently_core::Booking> = bookings
            .iter()
            .map(|b| (b.payment_id.as_str(), b))
            .collect();
        let mut seats = HashMap::new();
        let mut oversold = 0;
        for b in bookings
            .iter()
            .filter(|b| b.status == BookingStatus::Confirmed)
        {
            for s in &b.seat_ids {
                if seats.insert(s.to_string(), &b.id).is_some() {
                    oversold += 1;
                }
            }
        }
        // This run's charges only (the ledger spans both runs).
        let charges: Vec<&evently_core::payment::Charge> = l
            .charges
            .values()
            .filter(|c| !earlier.contains(&c.key))
            .collect();
        let told = run.outcomes.iter().filter(|o| o.booked.is_some()).count();
        let unbooked_refunded = charges
            .iter()
            .filter(|c| !paid.contains_key(c.id.as_str()) && l.refunded(&c.id) == c.amount)
            .count();
        let unbooked_open = charges
            .iter()
            .filter(|c| !paid.contains_key(c.id.as_str()) && l.refunded(&c.id) != c.amount)
            .count();
        let mut latency: Vec<Duration> = run
            .outcomes
            .iter()
            .filter(|o| o.booked.is_some())
            .map(|o| o.elapsed)
            .collect();
        latency.sort();
        rows.push(Row {
            told,
            bookings: bookings.len(),
            oversold,
            unbooked_refunded,
            unbooked_open,
            retries: run.outcomes.iter().map(|o| o.retries).sum(),
            latency,
            run,
        });
    }
    let cell = |f: &dyn Fn(&Row) -> String| format!("{} | {}", f(&rows[0]), f(&rows[1]));
    println!(
        "| on-sale, {buyers} buyers on {} pairs of seats | no faults | under faults |",
        buyers / 2
    );
    println!("|---|---|---|");
    println!(
        "| buyers told \"booked\" / bookings in the table | {} |",
        cell(&|r| format!("{} / {}", r.told, r.bookings))
    );
    println!(
        "| last answer each buyer got | {} |",
        cell(&|r| {
            let mut n = BTreeMap::new();
            for o in &r.run.outcomes {
                *n.entry(o.answer.as_str()).or_insert(0) += 1;
            }
            n.iter()
                .map(|(a, c)| format!("{a} × {c}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
    );
    println!(
        "| seats sold twice | {} |",
        cell(&|r| r.oversold.to_string())
    );
    println!(
        "| charges that bought nothing: refunded / still open | {} |",
        cell(&|r| format!("{} / {}", r.unbooked_refunded, r.unbooked_open))
    );
    println!(
        "| client retries (429/503/dropped connection) | {} |",
        cell(&|r| r.retries.to_string())
    );
    println!(
        "| hold + confirm per buyer who booked, p50 / p99 | {} |",
        cell(&|r| format!(
            "{:.0} ms / {:.0} ms",
            percentile(&r.latency, 0.5),
            percentile(&r.latency, 0.99)
        ))
    );
    println!(
        "| whole on-sale, wall clock | {} |",
        cell(&|r| format!("{:.1} s", r.run.wall.as_secs_f64()))
    );
    let faults = &rows[1].run.faults;
    println!("| faults injected | 0 | {} |", faults.values().sum::<u64>());
    println!();
    println!("| injected under faults, by operation | count |\n|---|---|");
    for (k, v) in faults {
        println!("| {k} | {v} |");
    }
    app.store
        .client()
        .delete_table()
        .table_name(&table)
        .send()
        .await?;
    Ok(())
}
