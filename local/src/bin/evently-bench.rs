//! `evently-bench`: measurements of the local stack, run by scripts/bench.
//! Prints Markdown tables; numbers are one run on this machine, to be read
//! as ratios, never asserted.
//!
//! * conditional seat transactions (the shape of a hold: two seats, each
//!   "available or its hold expired", one TransactWriteItems) against the
//!   local endpoint with the full demo data loaded;
//! * catalog and seat-map reads through the in-process gateway.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use evently_http::{App, Config};
use evently_local::seed::{seed, SeedSize};
use evently_local::template::Template;
use evently_store::Store;

type Error = Box<dyn std::error::Error + Send + Sync>;

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
    let pk = format!("EVENT#{}#SECTION#UPPER", arena.id);

    let mut latencies = Vec::with_capacity(tx_count);
    let started = Instant::now();
    for i in 0..tx_count {
        let (row, n) = (1 + (i % 40) as u32, 1 + 2 * ((i / 40) % 25) as u32);
        let now = chrono::Utc::now().timestamp();
        let hold = format!("bench-{i}");
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

    let app: &'static App = Box::leak(Box::new(App::new(
        store,
        b"bench-signing-key-of-at-least-32-bytes",
        Config::default(),
    )?));
    let (addr, _task) =
        evently_local::start_gateway(app, &template, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await?;
    let demo = seeded
        .events
        .iter()
        .find(|e| e.total_seats() == 2)
        .ok_or("demo night")?;
    let http = reqwest::Client::new();
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
    client.delete_table().table_name(&table).send().await?;
    Ok(())
}
