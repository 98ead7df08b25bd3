//! `evently-local`: the local runtime's command line (see lib.rs).
//!
//!   evently-local serve [--port 3000] [--reset] [--small]
//!   evently-local seed  [--reset] [--small]
//!
//! Needs AWS_ENDPOINT_URL pointing at the local endpoint on loopback; it
//! refuses anything else so it can never touch a real AWS account.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Instant;

use evently_http::{App, Config};
use evently_local::seed::{seed, SeedSize, DEMO_NIGHT, DEMO_PASSWORD};
use evently_local::template::Template;
use evently_local::{provision, start_gateway};
use evently_store::Store;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Used only when JWT_SECRET is unset, and only by the local runtime.
const DEV_JWT_SECRET: &str = "local-development-only-signing-key-not-secret";

struct Args {
    command: String,
    port: u16,
    reset: bool,
    size: SeedSize,
    template: PathBuf,
}

fn parse_args() -> Result<Args, Error> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_else(|| "serve".into());
    let mut parsed = Args {
        command,
        port: 3000,
        reset: false,
        size: SeedSize::Full,
        template: PathBuf::from("template.yaml"),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => parsed.port = args.next().ok_or("--port needs a value")?.parse()?,
            "--template" => parsed.template = args.next().ok_or("--template needs a path")?.into(),
            "--reset" => parsed.reset = true,
            "--small" => parsed.size = SeedSize::Small,
            other => {
                return Err(format!(
                    "unknown argument `{other}` (see the top of local/src/main.rs)"
                )
                .into())
            }
        }
    }
    Ok(parsed)
}

fn require_local_endpoint() -> Result<String, Error> {
    let url = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| "AWS_ENDPOINT_URL is not set: start the stack with scripts/dev")?;
    let host = url
        .trim_start_matches("http://")
        .split([':', '/'])
        .next()
        .unwrap_or("");
    if !(host == "127.0.0.1" || host == "localhost" || host == "[::1]") {
        return Err(format!("AWS_ENDPOINT_URL={url} is not on loopback; the local runtime only talks to a local endpoint").into());
    }
    Ok(url)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,aws=warn,hyper=warn".into()),
        )
        .with_writer(std::io::stderr)
        .compact()
        .init();
    let args = parse_args()?;
    let endpoint = require_local_endpoint()?;
    let started = Instant::now();
    let template = Template::load(&args.template)?;
    let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "evently".into());
    let secret = std::env::var("JWT_SECRET").unwrap_or_else(|_| DEV_JWT_SECRET.into());
    let client = evently_store::aws::local_client(&endpoint);
    let spec = template
        .tables
        .first()
        .ok_or("template.yaml defines no DynamoDB table")?;
    if args.reset {
        provision::delete_table(&client, &table).await?;
    }
    provision::create_table(&client, spec, &table).await?;
    let store = Store::new(client, table.clone());
    let now = chrono::Utc::now();
    match seed(&store, now, args.size).await? {
        Some(s) => eprintln!(
            "loaded demo data: {} users, {} events, {} seats ({:.1}s)",
            s.users.len(),
            s.events.len(),
            s.seats,
            started.elapsed().as_secs_f64()
        ),
        None => eprintln!("demo data already present in table `{table}` (use --reset to reload)"),
    }
    if args.command == "seed" {
        return Ok(());
    }
    if args.command != "serve" {
        return Err(format!("unknown command `{}`: serve or seed", args.command).into());
    }
    // The signing key is read from the local Secrets Manager, as the
    // functions read theirs in AWS.
    let aws = evently_store::aws::local_sdk_config(&endpoint);
    let arn = provision::signing_key_secret(&aws, &template, &table, &secret).await?;
    let mut app = App::new(store, secret.as_bytes(), Config::from_env())?;
    app.tokens = evently_http::TokenService::from_secrets_manager(
        aws_sdk_secretsmanager::Client::new(&aws),
        arn,
    );
    let app: &'static App = Box::leak(Box::new(app));
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let (bound, server) = start_gateway(app, &template, addr, &endpoint).await?;
    let settings = evently_local::EventSettings::from_env(format!("http://{bound}"));
    let sender = settings.sender.clone();
    let sources = evently_local::start_event_sources(app, &template, &endpoint, settings).await?;
    println!(
        "\nEvently local stack ready in {:.1}s\n  API        http://{bound}/api/v1/events\n  health     http://{bound}/_dev/health\n  AWS        {endpoint} (table `{table}`)\n  routes     {} from template.yaml; stream, queue, sweeper and TTL running\n  email from {sender}\n  demo users user1@example.com, user2@example.com, user3@example.com, organizer@example.com\n             password `{DEMO_PASSWORD}`; try \"{DEMO_NIGHT}\"\nCtrl-C stops everything.",
        started.elapsed().as_secs_f64(),
        template.routes.len()
    );
    tokio::signal::ctrl_c().await?;
    server.abort();
    for task in sources.tasks {
        task.abort();
    }
    Ok(())
}
