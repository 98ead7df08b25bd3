//! `evently-repair`: putting things right after the worst case (a stream
//! consumer that exhausted its retries, messages parked in a dead-letter
//! queue). docs/operations.md says when to use which.
//!
//!   evently-repair analytics --event <id> | --all
//!       Rebuild event analytics from the items (see
//!       `Store::recount_analytics`) and its seat maps from its seats
//!       (`Store::rebuild_seat_map`); prints before and after.
//!   evently-repair redrive --from <queue-url> --to <queue-url> [--max N]
//!       Move messages from a dead-letter queue back to its source queue
//!       (each is sent, then deleted: at worst delivered twice, and every
//!       consumer is idempotent).
//!
//! Talks to `AWS_ENDPOINT_URL` when it is set (the local stack; scripts/repair
//! sets it), otherwise to AWS with the usual credential chain. The table is
//! `TABLE_NAME` (default `evently`).

use evently_store::Store;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let aws = match std::env::var("AWS_ENDPOINT_URL") {
        Ok(endpoint) => evently_store::aws::local_sdk_config(&endpoint),
        Err(_) => evently_store::aws::load().await,
    };
    let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "evently".into());
    match args.first().map(String::as_str) {
        Some("analytics") => {
            let store = Store::new(evently_store::aws::dynamodb(&aws), table);
            let ids = if args.iter().any(|a| a == "--all") {
                store
                    .counted_events(None)
                    .await?
                    .into_iter()
                    .map(|c| c.event_id)
                    .collect()
            } else {
                vec![arg(&args, "--event").ok_or("analytics needs --event <id> or --all")?]
            };
            for id in ids {
                let event = store
                    .get_event(&id)
                    .await?
                    .ok_or(format!("no event {id}"))?;
                let r = store.recount_analytics(&event, chrono::Utc::now()).await?;
                let rows = store.rebuild_seat_map(&event).await?;
                println!("{id}: seat map rewritten from the seats ({rows} row(s))");
                let changed: Vec<String> = r
                    .after
                    .iter()
                    .filter(|(c, v)| r.before.get(c) != Some(v))
                    .map(|(c, v)| {
                        format!(
                            "{} {} -> {v}",
                            c.attribute(),
                            r.before.get(c).copied().unwrap_or(0)
                        )
                    })
                    .collect();
                println!(
                    "{id} ({}): {}; held-seat buckets set {} emptied {}; hourly sales buckets rewritten {}",
                    event.name,
                    if changed.is_empty() {
                        "counters were right".to_owned()
                    } else {
                        changed.join(", ")
                    },
                    r.markers_added,
                    r.markers_removed,
                    r.sales_hours_rewritten
                );
            }
        }
        Some("redrive") => {
            let from = arg(&args, "--from").ok_or("redrive needs --from <queue-url>")?;
            let to = arg(&args, "--to").ok_or("redrive needs --to <queue-url>")?;
            let max: usize = arg(&args, "--max")
                .map(|m| m.parse())
                .transpose()?
                .unwrap_or(usize::MAX);
            let sqs = aws_sdk_sqs::Client::new(&aws);
            let mut moved = 0;
            while moved < max {
                let got = sqs
                    .receive_message()
                    .queue_url(&from)
                    .max_number_of_messages(10)
                    .visibility_timeout(60)
                    .send()
                    .await?;
                let messages = got.messages();
                if messages.is_empty() {
                    break;
                }
                for m in messages.iter().take(max - moved) {
                    sqs.send_message()
                        .queue_url(&to)
                        .message_body(m.body().unwrap_or_default())
                        .send()
                        .await?;
                    if let Some(receipt) = m.receipt_handle() {
                        sqs.delete_message()
                            .queue_url(&from)
                            .receipt_handle(receipt)
                            .send()
                            .await?;
                    }
                    moved += 1;
                }
            }
            println!("moved {moved} message(s) from {from} to {to}");
        }
        _ => {
            eprintln!("usage: evently-repair analytics (--event <id> | --all)\n       evently-repair redrive --from <queue-url> --to <queue-url> [--max N]");
            std::process::exit(2);
        }
    }
    Ok(())
}
