//! `evently-bench`: measurements of the local stack, run by scripts/bench.
//! Prints Markdown tables; numbers are one run on this machine, to be read
//! as ratios, never asserted.
//!
//! * conditional seat transactions (the shape of a hold: two seats, each
//!   "available or its hold expired", one TransactWriteItems) against the
//!   local endpoint with the full demo data loaded;
//! * catalog and seat-map reads through the in-process gateway;
//! * DynamoDB requests per hold, confirm, cancel and release, counted by an
//!   SDK interceptor on the handlers' own client;
//! * an on-sale rush: hundreds of clients holding overlapping seats of one
//!   section at once, then confirming — attempted, succeeded, oversold.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use evently_http::{App, Config};
use evently_local::seed::{seed, SeedSize};
use evently_local::template::Template;
use evently_store::Store;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Counts every request the SDK sends (retries included) and, while
/// `record_keys` is on, the capacity each partition key takes.
#[derive(Debug, Clone, Default)]
struct RequestCounter(Arc<AtomicUsize>, Arc<std::sync::Mutex<Option<KeyLoads>>>);

/// Partition key → (read units, write units), estimated from the request
/// alone: an item read or written counts one unit (seat, hold, guard and
/// gate items are under 1 KB; the event item, read by every view, is ~10 KB
/// and counts 3 eventually consistent read units), an item of a
/// transaction counts two (DynamoDB bills transactional reads and writes,
/// condition checks included, double). A Query counts one read unit (the
/// seat-map rows a view reads are small). Estimates, as docs/benchmarks.md
/// says.
type KeyLoads = HashMap<String, (f64, f64)>;

impl RequestCounter {
    fn take(&self) -> usize {
        self.0.swap(0, Ordering::SeqCst)
    }

    fn record_keys(&self, on: bool) -> KeyLoads {
        let mut keys = self.1.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *keys, on.then(HashMap::new)).unwrap_or_default()
    }
}

fn pk_of(v: &serde_json::Value) -> Option<String> {
    v["PK"]["S"].as_str().map(str::to_owned)
}

/// (partition key, read units, write units) of one request's items.
fn key_loads(op: &str, body: &serde_json::Value) -> Vec<(String, f64, f64)> {
    let read = |pk: Option<String>, units: f64| {
        pk.map(|k| {
            (
                k.clone(),
                if k.ends_with("#EVENT") { 3.0 } else { units },
                0.0,
            )
        })
    };
    match op {
        "GetItem" => read(pk_of(&body["Key"]), 1.0).into_iter().collect(),
        "Query" => read(
            body["ExpressionAttributeValues"][":pk"]["S"]
                .as_str()
                .map(str::to_owned),
            1.0,
        )
        .into_iter()
        .collect(),
        "PutItem" => pk_of(&body["Item"])
            .map(|k| (k, 0.0, 1.0))
            .into_iter()
            .collect(),
        "UpdateItem" | "DeleteItem" => pk_of(&body["Key"])
            .map(|k| (k, 0.0, 1.0))
            .into_iter()
            .collect(),
        "TransactWriteItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let (kind, inner) = item.as_object()?.iter().next()?;
                let pk = if kind == "Put" {
                    pk_of(&inner["Item"])
                } else {
                    pk_of(&inner["Key"])
                }?;
                Some((pk, 0.0, 2.0))
            })
            .collect(),
        "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flat_map(|t| t.values())
            .flat_map(|reqs| reqs.as_array().cloned().unwrap_or_default())
            .filter_map(|r| pk_of(&r["PutRequest"]["Item"]).map(|k| (k, 0.0, 1.0)))
            .collect(),
        _ => Vec::new(),
    }
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let mut keys = self.1.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(loads) = keys.as_mut() {
            let (op, body) = evently_local::bench::dynamodb_request(ctx);
            for (pk, r, w) in key_loads(&op, &body) {
                let entry = loads.entry(pk).or_default();
                entry.0 += r;
                entry.1 += w;
            }
        }
        Ok(())
    }
}

/// A partition key with its ids and shard numbers shortened: keys of one
/// kind share a label (an Idempotency-Key's record is named by the
/// client's key).
fn key_label(pk: &str) -> String {
    if pk.starts_with("IDEMPOTENCY#") {
        return "IDEMPOTENCY#<user>#<key>".into();
    }
    pk.split('#')
        .map(|part| {
            if part.len() == 26 && part.chars().all(|c| c.is_ascii_alphanumeric()) {
                "<id>".to_owned()
            } else if !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()) {
                "<n>".to_owned()
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("#")
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn send(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(u16, serde_json::Value, Duration), Error> {
        let t = Instant::now();
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let elapsed = t.elapsed();
        let body = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text)?
        };
        Ok((status, body, elapsed))
    }

    /// A waiting-room ticket as its owner sees it, asking again after a
    /// 503 (100 ms later) as a polling client would.
    async fn queue_ticket(
        &self,
        token: &str,
        event: &str,
        id: &str,
    ) -> Result<serde_json::Value, Error> {
        let url = format!("{}/api/v1/events/{event}/queue/{id}", self.base);
        loop {
            let (status, body, _) = self.send(self.http.get(&url).bearer_auth(token)).await?;
            match status {
                200 => return Ok(body["ticket"].clone()),
                503 => tokio::time::sleep(Duration::from_millis(100)).await,
                _ => return Err(format!("ticket answered {status}: {body}").into()),
            }
        }
    }

    async fn hold(
        &self,
        token: &str,
        event: &str,
        section: &str,
        seats: &[String],
    ) -> Result<(u16, serde_json::Value, Duration), Error> {
        let body = serde_json::json!({"event_id": event, "section_id": section, "seat_ids": seats});
        self.send(
            self.http
                .post(format!("{}/api/v1/seats/hold", self.base))
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    /// A hold as a real client sends it: with an Idempotency-Key, retried
    /// after `Retry-After` while the answer is 503 (the local endpoint,
    /// answering one request at a time, cannot serve hundreds of clients
    /// within a function's timeout). Returns the last answer, the whole
    /// time and the retries.
    async fn hold_until_answered(
        &self,
        token: &str,
        event: &str,
        section: &str,
        seats: &[String],
        key: &str,
    ) -> Result<(u16, serde_json::Value, Duration, usize), Error> {
        let body = serde_json::json!({"event_id": event, "section_id": section, "seat_ids": seats});
        let started = Instant::now();
        let mut retries = 0;
        loop {
            let (status, answer, _) = self
                .send(
                    self.http
                        .post(format!("{}/api/v1/seats/hold", self.base))
                        .bearer_auth(token)
                        .header("idempotency-key", key)
                        .json(&body),
                )
                .await?;
            if status != 503 || retries >= 50 {
                return Ok((status, answer, started.elapsed(), retries));
            }
            retries += 1;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn confirm(
        &self,
        token: &str,
        hold_id: &str,
    ) -> Result<(u16, serde_json::Value, Duration), Error> {
        self.confirm_keyed(token, hold_id, None).await
    }

    /// A confirm as a client sends it, with an Idempotency-Key when given.
    async fn confirm_keyed(
        &self,
        token: &str,
        hold_id: &str,
        key: Option<&str>,
    ) -> Result<(u16, serde_json::Value, Duration), Error> {
        let body =
            serde_json::json!({"hold_id": hold_id, "payment_details": {"card_token": "tok_visa"}});
        let mut req = self
            .http
            .post(format!("{}/api/v1/bookings/confirm", self.base))
            .bearer_auth(token)
            .json(&body);
        if let Some(key) = key {
            req = req.header("idempotency-key", key);
        }
        self.send(req).await
    }

    async fn delete(
        &self,
        token: &str,
        path: &str,
    ) -> Result<(u16, serde_json::Value, Duration), Error> {
        self.send(
            self.http
                .delete(format!("{}{path}", self.base))
                .bearer_auth(token),
        )
        .await
    }
}

fn human_bytes(n: usize) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.2} MB", n as f64 / 1048576.0),
        n if n >= 1 << 10 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// An event like `like` on a stadium of `sections` sections of 40 rows ×
/// 50 seats (2,000 each), ten to a row of the map.
fn stadium(like: &evently_core::Event, sections: u32, name: &str) -> evently_core::Event {
    let mut event = like.clone();
    event.id = evently_core::new_id();
    event.name = name.into();
    event.layout = (0..sections)
        .map(|i| evently_core::SectionTemplate {
            id: format!("S{i:02}"),
            name: format!("Stand {i}"),
            rows: 40,
            seats_per_row: 50,
            default_price: "50.00".parse().expect("price"),
            origin_x: (i % 10) * 520,
            origin_y: (i / 10) * 420,
            gaps: Vec::new(),
        })
        .collect();
    event.sections = event
        .layout
        .iter()
        .map(|g| evently_core::EventSection {
            id: g.id.clone(),
            name: g.name.clone(),
            price: g.default_price,
            capacity: g.capacity(),
        })
        .collect();
    event
}

/// What drawing a seat map costs: DynamoDB requests per view (the
/// interceptor), the answer's size and its latency, for the arena (4,200
/// seats, nothing sold) and for a 50,000-seat event (25 sections of 40
/// rows × 50, every other seat taken: half held, half booked). The big
/// event is written straight to the table — its layout and its seat maps,
/// which is all a view reads — without seat items, whose writing is not
/// what is measured here.
async fn seat_map_costs(
    app: &App,
    http: &reqwest::Client,
    addr: SocketAddr,
    counter: &RequestCounter,
    arena: &evently_core::Event,
) -> Result<Vec<(String, f64, usize, f64)>, Error> {
    let big = stadium(arena, 25, "Stadium bench");
    app.store.create_event(&big).await?;
    let until = chrono::Utc::now().timestamp() + 3600;
    let marks: Vec<evently_store::SeatMarkChange> = big
        .layout
        .iter()
        .flat_map(|g| g.seats())
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(i, pos)| evently_store::SeatMarkChange {
            event_id: big.id.clone(),
            seat: pos.id,
            mark: Some(if i % 4 == 0 { until } else { 0 }),
        })
        .collect();
    for chunk in marks.chunks(2_000) {
        app.store.apply_seat_marks(chunk).await?;
    }
    let mut rows = Vec::new();
    for (event, what) in [
        (arena, "4,200 seats, none sold"),
        (&big, "50,000 seats, half taken"),
    ] {
        let base = format!("/api/v1/events/{}", event.id);
        for (route, path) in [
            ("event page", base.clone()),
            ("venue-layout", format!("{base}/venue-layout")),
            (
                "venue-layout?status=false",
                format!("{base}/venue-layout?status=false"),
            ),
            ("seats/available", format!("{base}/seats/available")),
            (
                "seats/available?format=compact",
                format!("{base}/seats/available?format=compact"),
            ),
        ] {
            const VIEWS: usize = 10;
            let mut lat = Vec::with_capacity(VIEWS);
            let mut bytes = 0;
            counter.take();
            for _ in 0..VIEWS {
                let t = Instant::now();
                let resp = http.get(format!("http://{addr}{path}")).send().await?;
                if !resp.status().is_success() {
                    return Err(format!("{path}: {}", resp.status()).into());
                }
                bytes = resp.bytes().await?.len();
                lat.push(t.elapsed());
            }
            let requests = counter.take() as f64 / VIEWS as f64;
            lat.sort();
            rows.push((
                format!("{route} ({what})"),
                requests,
                bytes,
                percentile(&lat, 0.5),
            ));
        }
    }
    Ok(rows)
}

async fn customer(app: &App, name: &str) -> Result<(String, String), Error> {
    user_with_role(app, name, evently_core::Role::Customer).await
}

async fn user_with_role(
    app: &App,
    name: &str,
    role: evently_core::Role,
) -> Result<(String, String), Error> {
    evently_local::bench::user_with_token(app, name, role).await
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn seat_update(
    table: &str,
    pk: &str,
    seat: &str,
    hold: &str,
    now: i64,
) -> Result<TransactWriteItem, Error> {
    let update = Update::builder()
        .table_name(table)
        .key("PK", AttributeValue::S(pk.into()))
        .key("SK", AttributeValue::S(format!("SEAT#{seat}")))
        .update_expression(
            "SET #status = :held, hold_id = :hold, holder_id = :user, hold_expires_at = :exp",
        )
        .condition_expression(evently_store::SEAT_FREE_FILTER)
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":available", AttributeValue::S("available".into()))
        .expression_attribute_values(":held", AttributeValue::S("held".into()))
        .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
        // Already expired, so the next round can take the same seats again.
        .expression_attribute_values(":exp", AttributeValue::N((now - 1).to_string()))
        .expression_attribute_values(":hold", AttributeValue::S(hold.into()))
        .expression_attribute_values(":user", AttributeValue::S("bench".into()))
        .build()?;
    Ok(TransactWriteItem::builder().update(update).build())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let tx_count: usize = std::env::var("BENCH_TX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let template = Template::load(std::path::Path::new("template.yaml"))?;
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| "AWS_ENDPOINT_URL is not set: run scripts/bench")?;
    if !endpoint.starts_with("http://127.0.0.1") {
        return Err(format!("benchmarks only talk to 127.0.0.1, not {endpoint}").into());
    }
    let client = evently_store::aws::local_client(&endpoint);
    // First, on a table of its own that is deleted afterwards: 100,000 seat
    // items and their stream records would slow the local endpoint down for
    // everything measured after them. BENCH_BIG_EVENT_SEATS=0 skips it.
    let seating = big_event_seating(&client, &template).await?;
    eprint!("{seating}");
    let table = format!("bench-{}", evently_core::new_id().to_lowercase());
    evently_local::provision::create_table(&client, &template.tables[0], &table).await?;
    let store = Store::new(client.clone(), table.clone());
    let t = Instant::now();
    let seeded = seed(&store, chrono::Utc::now(), SeedSize::Full)
        .await?
        .ok_or("fresh table")?;
    let seed_secs = t.elapsed().as_secs_f64();
    let items = seeded.seats + seeded.events.len() + seeded.users.len() * 2 + 3;
    let arena = seeded
        .events
        .iter()
        .find(|e| e.total_seats() == 4200)
        .ok_or("arena event")?;

    let mut latencies = Vec::with_capacity(tx_count);
    let started = Instant::now();
    for i in 0..tx_count {
        let (row, n) = (1 + (i % 40) as u32, 1 + 2 * ((i / 40) % 25) as u32);
        let now = chrono::Utc::now().timestamp();
        let hold = format!("bench-{i}");
        let pk = evently_store::keys::section_row(&arena.id, "UPPER", row);
        let t = Instant::now();
        client
            .transact_write_items()
            .transact_items(seat_update(
                &table,
                &pk,
                &format!("UPPER-{row}-{n}"),
                &hold,
                now,
            )?)
            .transact_items(seat_update(
                &table,
                &pk,
                &format!("UPPER-{row}-{}", n + 1),
                &hold,
                now,
            )?)
            .send()
            .await?;
        latencies.push(t.elapsed());
    }
    let wall = started.elapsed().as_secs_f64();
    latencies.sort();

    // The handlers get their own client with the request counter on it.
    let counter = RequestCounter::default();
    let counted = aws_sdk_dynamodb::Client::from_conf(
        evently_store::aws::local_config(&endpoint)
            .interceptor(counter.clone())
            .build(),
    );
    drop(store);
    let app: &'static App = Box::leak(Box::new(App::new(
        Store::new(counted, table.clone()),
        b"bench-signing-key-of-at-least-32-bytes",
        Config::default(),
    )?));
    let sender = evently_local::EventSettings::from_env(String::new()).sender;
    let identities = evently_local::iam::register_stack(
        &endpoint,
        &template,
        &client,
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
    let demo = seeded
        .events
        .iter()
        .find(|e| e.total_seats() == 2)
        .ok_or("demo night")?;
    let http = reqwest::Client::new();
    if std::env::var("BENCH_ONLY").as_deref() == Ok("waiting-room") {
        // One section on its own, for working on it.
        let api = Api {
            http: http.clone(),
            base: format!("http://{addr}"),
        };
        print!("{}", waiting_room(app, &api, &counter, arena).await?);
        return Ok(());
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("round-trips") {
        let api = Api {
            http: http.clone(),
            base: format!("http://{addr}"),
        };
        let theater = seeded
            .events
            .iter()
            .find(|e| e.total_seats() == 458 && e.cancellation_policy.allowed)
            .ok_or("jazz")?;
        println!("| DynamoDB requests per operation (mean of {OPS}, SDK interceptor) | requests |\n|---|---|");
        for (label, mean) in round_trips(app, &api, &counter, theater).await? {
            println!("| {label} | {mean:.2} |");
        }
        return Ok(());
    }
    let mut rows = Vec::new();
    for (label, path, n) in [
        (
            "GET /api/v1/events (4 events)",
            "/api/v1/events".to_owned(),
            20,
        ),
        (
            "GET /api/v1/events/{id} (2 seats)",
            format!("/api/v1/events/{}", demo.id),
            50,
        ),
        (
            "GET /api/v1/events/{id} (4,200 seats)",
            format!("/api/v1/events/{}", arena.id),
            20,
        ),
        (
            "GET …/venue-layout (4,200 seats)",
            format!("/api/v1/events/{}/venue-layout", arena.id),
            10,
        ),
        (
            "GET …/seats/available (2 seats)",
            format!("/api/v1/events/{}/seats/available", demo.id),
            50,
        ),
    ] {
        let mut lat = Vec::new();
        for _ in 0..n {
            let t = Instant::now();
            let resp = http.get(format!("http://{addr}{path}")).send().await?;
            let ok = resp.status().is_success();
            resp.bytes().await?;
            lat.push(t.elapsed());
            if !ok {
                return Err(format!("{path} failed").into());
            }
        }
        lat.sort();
        rows.push((label, n, percentile(&lat, 0.5), percentile(&lat, 0.99)));
    }

    let api = Api {
        http: http.clone(),
        base: format!("http://{addr}"),
    };

    let theater = seeded
        .events
        .iter()
        .find(|e| e.total_seats() == 458 && e.cancellation_policy.allowed)
        .ok_or("jazz")?;
    let per_op = round_trips(app, &api, &counter, theater).await?;

    let map_rows = seat_map_costs(app, &http, addr, &counter, arena).await?;

    // The rush: RUSH_CLIENTS clients at once on the first rows of the
    // arena's 600-seat FLOOR, each wanting 2–4 adjacent seats.
    let clients: usize = std::env::var("BENCH_RUSH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let mut rushers = Vec::with_capacity(clients);
    for i in 0..clients {
        let (user, token) = customer(app, &format!("rush{i}")).await?;
        let len = 2 + (i * 7) % 3;
        let row = 1 + (i * 11) % 5;
        let start = 1 + (i * 13) % (31 - len);
        let seats: Vec<String> = (start..start + len)
            .map(|n| format!("FLOOR-{row}-{n}"))
            .collect();
        rushers.push((user, token, seats));
    }
    counter.take();
    counter.record_keys(true);
    let rush_started = Instant::now();
    let keys: Vec<String> = (0..rushers.len()).map(|i| format!("rush-{i}")).collect();
    let attempts = rushers.iter().zip(&keys).map(|((_, token, seats), key)| {
        api.hold_until_answered(token, &arena.id, "FLOOR", seats, key)
    });
    let results = futures::future::join_all(attempts).await;
    let rush_secs = rush_started.elapsed().as_secs_f64();
    let rush_requests = counter.take();
    // The request path only: the stream consumers start later in the bench.
    let loads = counter.record_keys(false);
    let mut hold_latency = Vec::new();
    let mut won: Vec<(usize, String)> = Vec::new();
    let (mut conflicts, mut other, mut retried) = (0, 0, 0);
    for (i, r) in results.into_iter().enumerate() {
        let (status, body, took, retries) = r?;
        retried += retries;
        hold_latency.push(took);
        match status {
            201 => won.push((i, body["hold_id"].as_str().unwrap_or_default().to_owned())),
            409 => conflicts += 1,
            _ => other += 1,
        }
    }
    hold_latency.sort();
    // Oversold: a seat in two winning holds, or a winner whose seat the
    // table gives to another hold.
    let stored: HashMap<String, String> = app
        .store
        .section_seats(arena, "FLOOR")
        .await?
        .into_iter()
        .filter_map(|s| match s.state {
            evently_core::SeatState::Held { hold_id, .. } => Some((s.id.to_string(), hold_id)),
            _ => None,
        })
        .collect();
    let mut seen = HashSet::new();
    let mut oversold = 0;
    for (i, hold_id) in &won {
        for seat in &rushers[*i].2 {
            if !seen.insert(seat.clone()) || stored.get(seat) != Some(hold_id) {
                oversold += 1;
            }
        }
    }
    let confirms = won
        .iter()
        .map(|(i, hold_id)| api.confirm(&rushers[*i].1, hold_id));
    let confirmed = futures::future::join_all(confirms).await;
    let booked = confirmed
        .iter()
        .filter(|r| matches!(r, Ok((201, _, _))))
        .count();
    let booked_seats: usize = app
        .store
        .section_seats(arena, "FLOOR")
        .await?
        .iter()
        .filter(|s| matches!(s.state, evently_core::SeatState::Booked { .. }))
        .count();

    println!("| measurement | value |\n|---|---|");
    println!("| items in the table | {items} |");
    println!("| demo data load | {seed_secs:.1} s |");
    println!("| conditional 2-seat transactions | {tx_count} |");
    println!(
        "| transactions per second (one client) | {:.0} |",
        tx_count as f64 / wall
    );
    println!(
        "| transaction p50 / p99 | {:.1} ms / {:.1} ms |",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    println!();
    println!("| request through the local gateway | n | p50 | p99 |\n|---|---|---|---|");
    for (label, n, p50, p99) in rows {
        println!("| {label} | {n} | {p50:.1} ms | {p99:.1} ms |");
    }
    println!();
    println!("| DynamoDB requests per operation (mean of {OPS}, SDK interceptor) | requests |\n|---|---|");
    for (label, mean) in per_op {
        println!("| {label} | {mean:.2} |");
    }
    println!();
    println!("| seat map view (SDK interceptor; mean of 10) | DynamoDB requests | answer | p50 |\n|---|---:|---:|---:|");
    for (label, requests, bytes, p50) in map_rows {
        println!(
            "| {label} | {requests:.1} | {} | {p50:.1} ms |",
            human_bytes(bytes)
        );
    }
    println!();
    println!("| on-sale rush: {clients} clients at once, 2–4 adjacent seats in rows 1–5 of FLOOR (600 seats) | value |\n|---|---|");
    println!("| holds attempted | {clients} |");
    println!("| holds succeeded (201) | {} |", won.len());
    println!("| refused as taken (409) | {conflicts} |");
    println!("| other answers | {other} |");
    println!("| 503 \"try again\" answers, retried by the clients | {retried} |");
    println!("| seats held by winners | {} |", seen.len());
    println!("| **oversold seats** | **{oversold}** |");
    println!(
        "| winners' confirms that booked (201) | {booked} of {} |",
        won.len()
    );
    println!("| FLOOR seats booked afterwards | {booked_seats} |");
    println!(
        "| DynamoDB requests during the rush | {rush_requests} ({:.1} per hold attempt) |",
        rush_requests as f64 / clients as f64
    );
    println!("| rush wall time | {rush_secs:.1} s |");
    println!(
        "| hold latency under the rush p50 / p99 | {:.0} ms / {:.0} ms |",
        percentile(&hold_latency, 0.5),
        percentile(&hold_latency, 0.99)
    );
    // The rush's load per partition key, scaled to the on-sale model:
    // 10,000 hold attempts per second shaped like these (all on one
    // section's first rows). Limits: 1,000 write and 3,000 read units per
    // second per partition.
    const MODEL_ATTEMPTS_PER_SEC: f64 = 10_000.0;
    // Per kind of key: the units the rush put on it per attempt, and what
    // one key of that kind takes at the model. A kind with one key takes
    // it all; a sharded kind (`<n>`) spreads it over its shards; a kind
    // with a key per request or per buyer (holds, answers, guards) gets a
    // new key for each, whatever the rate.
    let mut kinds: HashMap<String, (usize, f64)> = HashMap::new();
    for (pk, (r, w)) in &loads {
        let kind = kinds.entry(key_label(pk)).or_default();
        kind.0 += 1;
        kind.1 += r + w;
    }
    let mut rows: Vec<(String, usize, f64)> = kinds
        .into_iter()
        .map(|(label, (keys, units))| (label, keys, units / clients as f64))
        .collect();
    rows.sort_by(|a, b| b.2.total_cmp(&a.2));
    println!();
    println!("| kind of partition key (hold path, the rush's 300 attempts) | keys | units per attempt | per key at 10,000 attempts/s | within 1,000 write units/s |\n|---|---:|---:|---:|---|");
    for (label, keys, per_attempt) in rows {
        let (per_key, verdict) = if keys * 2 >= clients {
            ("a new key per request".to_owned(), "yes")
        } else {
            let shards = if label.contains("<n>") {
                keys as f64
            } else {
                1.0
            };
            let load = per_attempt * MODEL_ATTEMPTS_PER_SEC / shards;
            (
                format!("{load:.0}"),
                if load <= 1_000.0 { "yes" } else { "**no**" },
            )
        };
        println!("| `{label}` | {keys} | {per_attempt:.2} | {per_key} | {verdict} |");
    }
    println!();

    // Before the event sources start: the stack's own admitter would step
    // the line beside the one measured here.
    print!("{}", waiting_room(app, &api, &counter, arena).await?);

    // Cancel → email: the waitlist pipeline end to end (stream poll 100 ms,
    // queue poll 150 ms), over repeated rounds on Evently Demo Night.
    let rounds: usize = std::env::var("BENCH_EMAIL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let settings = evently_local::EventSettings {
        stream_poll: Duration::from_millis(100),
        ..evently_local::EventSettings::from_env(format!("http://{addr}"))
    };
    let _sources =
        evently_local::start_event_sources(app, &identities, &template, &endpoint, settings)
            .await?;
    let seats = vec!["A-1-1".to_owned(), "A-1-2".to_owned()];
    let (_, mut booker) = customer(app, "booker0").await?;
    let (_, hold, _) = api.hold(&booker, &demo.id, "A", &seats).await?;
    let (_, booked, _) = api
        .confirm(&booker, hold["hold_id"].as_str().unwrap_or_default())
        .await?;
    let mut booking = booked["booking"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut email_latency = Vec::new();
    for round in 1..=rounds {
        let (waiter_id, waiter) = customer(app, &format!("waiter{round}")).await?;
        let to = app
            .store
            .get_user(&waiter_id)
            .await?
            .map(|u| u.email)
            .unwrap_or_default();
        let join = serde_json::json!({"event_id": demo.id, "quantity": 2});
        let (status, body, _) = api
            .send(
                api.http
                    .post(format!("{}/api/v1/waitlist/join", api.base))
                    .bearer_auth(&waiter)
                    .json(&join),
            )
            .await?;
        if status != 201 {
            return Err(format!("join failed: {body}").into());
        }
        let started = Instant::now();
        api.delete(&booker, &format!("/api/v1/bookings/{booking}/cancel"))
            .await?;
        loop {
            let mails = evently_local::mailbox::messages(&endpoint).await?;
            if mails.iter().any(|m| m["to"][0] == to.as_str()) {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err("no offer email within 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        email_latency.push(started.elapsed());
        let (_, offer_hold, _) = api.hold(&waiter, &demo.id, "A", &seats).await?;
        let (_, booked, _) = api
            .confirm(&waiter, offer_hold["hold_id"].as_str().unwrap_or_default())
            .await?;
        booking = booked["booking"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        booker = waiter;
    }
    email_latency.sort();
    println!();
    println!("| waitlist | value |\n|---|---|");
    println!(
        "| cancel → offer email in the mailbox, {rounds} rounds, p50 / p95 | {:.0} ms / {:.0} ms |",
        percentile(&email_latency, 0.5),
        percentile(&email_latency, 0.95)
    );
    organizer_side(app, &api, &endpoint).await?;
    print!("{seating}");
    app.store
        .client()
        .delete_table()
        .table_name(&table)
        .send()
        .await?;
    Ok(())
}

/// The waiting room (issue 11): `BENCH_QUEUE_PEOPLE` (1,000) people join
/// one event's line, 50 at a time, through the gateway; one admitter step
/// numbers them all; then the on-sale opens at 1,200 a minute with the
/// admitter stepping every second, and a sample of 20 tickets spread over
/// the first 400 places is polled until admitted. Admission lag is how
/// long after its turn by the rate (on-sale + place / rate) a ticket's
/// owner saw it admitted.
async fn waiting_room(
    app: &'static App,
    api: &Api,
    counter: &RequestCounter,
    like: &evently_core::Event,
) -> Result<String, Error> {
    use futures::StreamExt;
    let people: usize = std::env::var("BENCH_QUEUE_PEOPLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rate = 1200u32;
    let mut event = stadium(like, 1, "Waiting Room Night");
    event.admission = Some(evently_core::Admission {
        on_sale_at: chrono::Utc::now() + chrono::Duration::hours(1),
        rate_per_minute: rate,
        window_seconds: 600,
    });
    app.store.create_event(&event).await?;
    let mut tokens = Vec::with_capacity(people);
    for i in 0..people {
        tokens.push(customer(app, &format!("q{i}")).await?.1);
    }
    counter.take();
    let started = Instant::now();
    let joined: Vec<Result<(Duration, String, String), Error>> =
        futures::stream::iter(tokens.iter().map(|token| {
            let path = format!("/api/v1/events/{}/queue", event.id);
            async move {
                let req = api
                    .http
                    .post(format!("{}{path}", api.base))
                    .bearer_auth(token)
                    .json(&serde_json::json!({}));
                let (status, body, took) = api.send(req).await?;
                if status != 201 {
                    return Err(format!("join answered {status}: {body}").into());
                }
                let id = body["ticket"]["id"].as_str().unwrap_or_default().to_owned();
                Ok((took, token.clone(), id))
            }
        }))
        .buffer_unordered(50)
        .collect()
        .await;
    let join_wall = started.elapsed().as_secs_f64();
    let join_requests = counter.take() as f64 / people as f64;
    let joined: Vec<(Duration, String, String)> = joined.into_iter().collect::<Result<_, _>>()?;
    let mut lat: Vec<Duration> = joined.iter().map(|(d, _, _)| *d).collect();
    lat.sort();

    let admitter: &'static queue_admit::Admitter = Box::leak(Box::new(queue_admit::Admitter {
        store: app.store.clone(),
        clock: Arc::new(evently_core::SystemClock),
        step_every: Duration::from_secs(1),
    }));
    // Everyone joined more than the settle time ago.
    tokio::time::sleep(Duration::from_secs(
        evently_core::queue::SETTLE_SECS as u64 + 1,
    ))
    .await;
    counter.take();
    let t = Instant::now();
    let mut report = queue_admit::AdmitReport::default();
    queue_admit::step_all(admitter, &mut report).await?;
    let numbering = t.elapsed();
    let numbering_requests = counter.take();

    // Places of a sample of 20 tickets, now that they are numbered.
    let sample: Vec<&(Duration, String, String)> =
        joined.iter().step_by((people / 20).max(1)).collect();
    let mut places = Vec::new();
    for (_, token, id) in &sample {
        let ticket = api.queue_ticket(token, &event.id, id).await?;
        places.push(ticket["position"].as_u64().unwrap_or(u64::MAX));
    }

    // The on-sale: two seconds from now, the admitter stepping every second.
    let read = event.clone();
    let on_sale = chrono::Utc::now() + chrono::Duration::seconds(2);
    if let Some(a) = event.admission.as_mut() {
        a.on_sale_at = on_sale;
    }
    app.store.save_event(&event, &read).await?;
    let ticking = tokio::spawn(async move {
        loop {
            let mut r = queue_admit::AdmitReport::default();
            if let Err(e) = queue_admit::step_all(admitter, &mut r).await {
                eprintln!("admission step failed: {e}");
            }
            tokio::time::sleep(admitter.step_every).await;
        }
    });
    // Each sampled ticket among the first 400 places is polled until
    // admitted; the rest would wait past what is worth measuring.
    let lags =
        futures::future::join_all(sample.iter().zip(&places).filter(|(_, p)| **p <= 400).map(
            |((_, token, id), place)| {
                let event = &event.id;
                async move {
                    for _ in 0..1200 {
                        let ticket = api.queue_ticket(token, event, id).await?;
                        if ticket["status"] == "admitted" {
                            // Its turn: the on-sale plus its place at the rate.
                            let due = on_sale
                                + chrono::Duration::milliseconds(
                                    (*place as i64 * 60_000) / i64::from(rate),
                                );
                            return Ok((chrono::Utc::now() - due).num_milliseconds() as f64);
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err::<f64, Error>("a ticket was never admitted".into())
                }
            },
        ))
        .await;
    ticking.abort();
    let mut lags: Vec<f64> = lags.into_iter().collect::<Result<Vec<_>, _>>()?;
    lags.sort_by(f64::total_cmp);
    let pick = |p: f64| {
        lags.get(((lags.len().max(1) - 1) as f64 * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let mut out = String::new();
    out.push_str("\n| waiting room | value |\n|---|---|\n");
    out.push_str(&format!(
        "| {people} joins, 50 at a time: p50 / p99 / wall | {:.1} ms / {:.1} ms / {join_wall:.1} s |\n",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    ));
    out.push_str(&format!(
        "| DynamoDB requests per join (first join of each person) | {join_requests:.2} |\n"
    ));
    out.push_str(&format!(
        "| one admitter step numbering {} tickets (64 shards) | {:.0} ms, {numbering_requests} requests |\n",
        report.numbered,
        numbering.as_secs_f64() * 1e3
    ));
    out.push_str(&format!(
        "| admission lag after one's turn at {rate}/min, {} sampled tickets, p50 / max | {:.0} ms / {:.0} ms |\n",
        lags.len(),
        pick(0.5),
        pick(1.0)
    ));
    Ok(out)
}

/// Seats of a stadium-sized event written by the seating job, in runs of
/// the worker's budget (20 s each, as `JOB_BUDGET_SECONDS` defaults),
/// against the local endpoint: `BENCH_BIG_EVENT_SEATS` seats (100,000; in
/// sections of 40 rows × 50), wall time and runs.
async fn big_event_seating(
    client: &aws_sdk_dynamodb::Client,
    template: &Template,
) -> Result<String, Error> {
    let seats: u32 = std::env::var("BENCH_BIG_EVENT_SEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    if seats == 0 {
        return Ok(String::new());
    }
    let table = format!("bench-seating-{}", evently_core::new_id().to_lowercase());
    evently_local::provision::create_table(client, &template.tables[0], &table).await?;
    let store = Store::new(client.clone(), table.clone());
    let like = seed(&store, chrono::Utc::now(), SeedSize::Small)
        .await?
        .ok_or("fresh table")?
        .events
        .into_iter()
        .next()
        .ok_or("an event")?;
    let like = &like;
    let mut event = stadium(like, seats.div_ceil(2_000), "Seating bench");
    event.status = evently_core::EventStatus::Draft;
    event.seating = evently_core::Seating::Materialising;
    store.create_event(&event).await?;
    let started = Instant::now();
    let (mut runs, mut failed) = (0, 0);
    loop {
        runs += 1;
        let stop = tokio::time::Instant::now() + Duration::from_secs(20);
        // A run that fails is retried, as the worker's message would be.
        let run = async {
            let current = store
                .get_event(&event.id)
                .await?
                .ok_or(evently_store::StoreError::Backend("no event".into()))?;
            store
                .materialise_seats(&current)
                .await
                .map_err(|e| match e {
                    evently_store::SeatingError::Store(e) => e,
                    other => evently_store::StoreError::Backend(other.to_string()),
                })
        };
        match evently_store::retry::within(stop, run).await {
            Ok(after) if after.seating == evently_core::Seating::Ready => break,
            Ok(_) => {}
            Err(e) if failed < 10 => {
                failed += 1;
                eprintln!("seating run {runs} failed ({e}); the next run resumes");
            }
            Err(e) => return Err(e.into()),
        }
        if runs > 1_000 {
            return Err("the seating job never finished".into());
        }
    }
    let secs = started.elapsed().as_secs_f64();
    client.delete_table().table_name(&table).send().await?;
    Ok(format!(
        "\n| seating job, runs of 20 s as the worker's | value |\n|---|---|\n\
         | seats written | {} |\n| wall time | {secs:.0} s |\n\
         | runs of 20 s (failed and resumed) | {runs} ({failed}) |\n\
         | seats per second | {:.0} |\n",
        event.total_seats(),
        f64::from(event.total_seats()) / secs
    ))
}

/// Waits (bounded) until `check` holds, returning how long that took.
async fn until<F, Fut>(what: &str, mut check: F) -> Result<Duration, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, Error>>,
{
    let started = Instant::now();
    while !check().await? {
        if started.elapsed() > Duration::from_secs(120) {
            return Err(format!("{what}: not within 120 s").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(started.elapsed())
}

/// Organizer operations: creating an event on a 20,000-seat venue (the
/// request, then the seating job),
/// how far the stream-kept analytics lag behind a booking, and how long an
/// event cancellation takes to refund and email every holder.
async fn organizer_side(app: &'static App, api: &Api, endpoint: &str) -> Result<(), Error> {
    let (_, org) = user_with_role(app, "bench-organizer", evently_core::Role::Organizer).await?;
    let post = |path: &str, body: serde_json::Value| {
        api.http
            .post(format!("{}{path}", api.base))
            .bearer_auth(&org)
            .json(&body)
    };
    let patch = |path: &str, body: serde_json::Value| {
        api.http
            .patch(format!("{}{path}", api.base))
            .bearer_auth(&org)
            .json(&body)
    };
    let starts = evently_core::clock::rfc3339(app.clock.now() + chrono::Duration::days(90));
    let ends = evently_core::clock::rfc3339(
        app.clock.now() + chrono::Duration::days(90) + chrono::Duration::hours(3),
    );
    let event_body = |venue: &str, name: &str| serde_json::json!({"venue_id": venue, "name": name, "starts_at": starts, "ends_at": ends});

    // 20,000 seats: five 40 × 100 sections.
    let sections: Vec<serde_json::Value> = (1..=5)
        .map(|i| {
            serde_json::json!({"id": format!("S{i}"), "name": format!("Stand {i}"),
            "rows": 40, "seats_per_row": 100, "default_price": "30.00"})
        })
        .collect();
    let (status, venue, _) = api
        .send(post(
            "/api/v1/admin/venues",
            serde_json::json!({"name": "Stadium", "city": "Bench", "sections": sections}),
        ))
        .await?;
    if status != 201 {
        return Err(format!("venue: {venue}").into());
    }
    let stadium = venue["venue"]["id"].as_str().unwrap_or_default().to_owned();
    let (status, created, create_time) = api
        .send(post(
            "/api/v1/admin/events",
            event_body(&stadium, "Stadium night"),
        ))
        .await?;
    if status != 201 {
        return Err(format!("event: {created}").into());
    }
    let big = created["event"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The seating job writes what the create had no time for; the
    // organizer only waits for `ready`, then publishes.
    let started = Instant::now();
    let path = format!("{}/api/v1/admin/events/{big}", api.base);
    loop {
        let (_, e, _) = api.send(api.http.get(&path).bearer_auth(&org)).await?;
        if e["event"]["seating"] == "ready" {
            break;
        }
        if started.elapsed() > Duration::from_secs(900) {
            return Err("seating ready: not within 900 s".into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let seated_after = started.elapsed();
    let (status, body, publish_time) = api
        .send(patch(
            &format!("/api/v1/admin/events/{big}"),
            serde_json::json!({"status": "published"}),
        ))
        .await?;
    if status != 200 {
        return Err(format!("publish: {status} {body}").into());
    }

    // Analytics lag: a booking, then poll the analytics route until it
    // shows; over several bookings.
    let mut lag = Vec::new();
    for i in 1..=10u32 {
        let (_, buyer) = customer(app, &format!("fan{i}")).await?;
        let seats = vec![format!("S1-1-{i}")];
        let (_, hold, _) = api.hold(&buyer, &big, "S1", &seats).await?;
        api.confirm(&buyer, hold["hold_id"].as_str().unwrap_or_default())
            .await?;
        let path = format!("{}/api/v1/admin/events/{big}/analytics", api.base);
        lag.push(
            until("analytics", || async {
                let (_, a, _) = api.send(api.http.get(&path).bearer_auth(&org)).await?;
                Ok(a["sold"].as_i64() == Some(i64::from(i)))
            })
            .await?,
        );
    }
    lag.sort();

    // Cancel an event with many holders: every one refunded and emailed.
    let holders: usize = std::env::var("BENCH_CANCEL_HOLDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let (_, venue, _) = api
        .send(post("/api/v1/admin/venues", serde_json::json!({"name": "Club", "city": "Bench",
            "sections": [{"id": "F", "name": "Floor", "rows": 10, "seats_per_row": 20, "default_price": "25.00"}]})))
        .await?;
    let club = venue["venue"]["id"].as_str().unwrap_or_default().to_owned();
    let (_, created, _) = api
        .send(post(
            "/api/v1/admin/events",
            event_body(&club, "Club night"),
        ))
        .await?;
    let gig = created["event"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    api.send(patch(
        &format!("/api/v1/admin/events/{gig}"),
        serde_json::json!({"status": "published"}),
    ))
    .await?;
    let mut emails = HashSet::new();
    for i in 0..holders {
        let name = format!("holder{i}");
        let (id, buyer) = customer(app, &name).await?;
        let (row, n) = (1 + i / 10, 1 + 2 * (i % 10));
        let seats = vec![format!("F-{row}-{n}"), format!("F-{row}-{}", n + 1)];
        let (_, hold, _) = api.hold(&buyer, &gig, "F", &seats).await?;
        let (status, booked, _) = api
            .confirm(&buyer, hold["hold_id"].as_str().unwrap_or_default())
            .await?;
        if status != 201 {
            return Err(format!("booking {i}: {booked}").into());
        }
        emails.insert(
            app.store
                .get_user(&id)
                .await?
                .map(|u| u.email)
                .unwrap_or_default(),
        );
    }
    let started = Instant::now();
    api.send(patch(
        &format!("/api/v1/admin/events/{gig}"),
        serde_json::json!({"status": "cancelled"}),
    ))
    .await?;
    let answered = started.elapsed();
    until("cancellation emails", || async {
        let mails = evently_local::mailbox::messages(endpoint).await?;
        let got = mails
            .iter()
            .filter(|m| m["to"][0].as_str().is_some_and(|t| emails.contains(t)))
            .count();
        Ok(got >= holders)
    })
    .await?;
    let all_emailed = started.elapsed();

    println!();
    println!(
        "| organizers | value |
|---|---|"
    );
    println!(
        "| create an event on a 20,000-seat template (201 within its function's 29 s; seats written in steps of 1,000) | {:.1} s |",
        create_time.as_secs_f64()
    );
    println!(
        "| …the seating job finishes the rest, unasked (after the 201) | {:.1} s |",
        seated_after.as_secs_f64()
    );
    println!("| publish it | {:.1} s |", publish_time.as_secs_f64());
    println!(
        "| booking → analytics show it (stream lag), 10 bookings, p50 / max | {:.0} ms / {:.0} ms |",
        percentile(&lag, 0.5),
        percentile(&lag, 1.0)
    );
    println!(
        "| cancel an event with {holders} bookings: PATCH answered / all refunded and emailed | {:.0} ms / {:.1} s |",
        answered.as_secs_f64() * 1e3,
        all_emailed.as_secs_f64()
    );
    Ok(())
}

/// Requests to DynamoDB per operation, as a client sends them: mean of
/// `OPS` of each, counted by the SDK interceptor.
const OPS: usize = 20;

async fn round_trips(
    app: &'static App,
    api: &Api,
    counter: &RequestCounter,
    theater: &evently_core::Event,
) -> Result<Vec<(&'static str, f64)>, Error> {
    // DynamoDB requests per operation, through the gateway, 20 of each,
    // with an Idempotency-Key on hold and confirm as clients send them.
    let mut per_op: Vec<(&'static str, f64)> = Vec::new();
    let (mut hold_n, mut confirm_n, mut cancel_n, mut release_n) = (0, 0, 0, 0);
    for i in 0..OPS {
        let (_, token) = customer(app, &format!("ops{i}")).await?;
        let (row, first) = (1 + i % 15, 1 + 2 * (i / 15));
        let seats = vec![
            format!("ORCH-{row}-{first}"),
            format!("ORCH-{row}-{}", first + 1),
        ];
        counter.take();
        let (status, hold, _, _) = api
            .hold_until_answered(&token, &theater.id, "ORCH", &seats, &format!("op-hold-{i}"))
            .await?;
        hold_n += counter.take();
        if status != 201 {
            return Err(format!("hold failed: {hold}").into());
        }
        let hold_id = hold["hold_id"].as_str().unwrap_or_default().to_owned();
        let (status, booking, _) = api
            .confirm_keyed(&token, &hold_id, Some(&format!("op-confirm-{i}")))
            .await?;
        confirm_n += counter.take();
        if status != 201 {
            return Err(format!("confirm failed: {booking}").into());
        }
        let (status, cancelled, _) = api
            .delete(&token, &format!("/api/v1/bookings/{hold_id}/cancel"))
            .await?;
        cancel_n += counter.take();
        if status != 200 {
            return Err(format!("cancel failed: {cancelled}").into());
        }
        let (_, again, _) = api.hold(&token, &theater.id, "ORCH", &seats).await?;
        counter.take();
        let again_id = again["hold_id"].as_str().unwrap_or_default().to_owned();
        let (status, _, _) = api
            .delete(&token, &format!("/api/v1/seats/hold/{again_id}"))
            .await?;
        release_n += counter.take();
        if status != 204 {
            return Err("release failed".into());
        }
    }
    for (label, total) in [
        ("hold (2 seats, keyed)", hold_n),
        ("confirm (keyed)", confirm_n),
        ("cancel", cancel_n),
        ("release", release_n),
    ] {
        per_op.push((label, total as f64 / OPS as f64));
    }
    Ok(per_op)
}
