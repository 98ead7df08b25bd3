//! `evently-local`: the local runtime's command line (see lib.rs).
//!
//!   evently-local serve [--port 3000] [--reset] [--small] [--binaries]
//!       --binaries: every function runs as its real binary (next to this
//!       one in target/debug) under the local Lambda Runtime API
//!   evently-local seed  [--reset] [--small]
//!   evently-local iam-report [--justified local/iam-unused.txt]
//!       what the local endpoint saw of IAM: actions granted and never
//!       used (fails unless justified), requests denied (fails)
//!
//! Needs AWS_ENDPOINT_URL pointing at the local endpoint on loopback; it
//! refuses anything else so it can never touch a real AWS account.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Instant;

use evently_http::{App, Config};
use evently_local::provision;
use evently_local::seed::{seed, SeedSize, DEMO_NIGHT, DEMO_PASSWORD};
use evently_local::template::Template;
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
    justified: PathBuf,
    binaries: bool,
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
        justified: PathBuf::from("local/iam-unused.txt"),
        binaries: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => parsed.port = args.next().ok_or("--port needs a value")?.parse()?,
            "--template" => parsed.template = args.next().ok_or("--template needs a path")?.into(),
            "--reset" => parsed.reset = true,
            "--justified" => {
                parsed.justified = args.next().ok_or("--justified needs a path")?.into()
            }
            "--small" => parsed.size = SeedSize::Small,
            "--binaries" => parsed.binaries = true,
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
    if args.command == "iam-report" {
        return iam_report(&endpoint, &args.justified).await;
    }
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
    let secrets = provision::secrets(&aws, &template, &table, &secret).await?;
    let mut app = App::new(store, secret.as_bytes(), Config::from_env())?;
    app.tokens = evently_http::TokenService::from_secrets_manager(
        aws_sdk_secretsmanager::Client::new(&aws),
        secrets["JwtSigningKey"].clone(),
    );
    // No CloudFront here: nothing sends the edge secret, so every limit
    // counts the TCP peer — but the functions hold it as in AWS.
    if let Some(arn) = secrets.get("EdgeKey") {
        app.edge = evently_http::edge::EdgeTrust::from_secrets_manager(
            aws_sdk_secretsmanager::Client::new(&aws),
            arn.clone(),
        );
    }
    let app: &'static App = Box::leak(Box::new(app));
    let sender = evently_local::EventSettings::from_env(String::new()).sender;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let base = format!("http://{addr}");
    // Each function signs as itself; the local endpoint holds it to its
    // policies in template.yaml (local/src/iam.rs).
    let mut names = evently_local::iam::stack_names(
        &endpoint,
        app.store.client(),
        &table,
        &[
            ("SenderEmail", &sender),
            ("PublicBaseUrl", &base),
            // The local stack always pays with the simulator.
            ("PaymentProvider", "simulator"),
        ],
        true,
    )
    .await?;
    names.secret_arns = secrets;
    let identities = evently_local::iam::register(&endpoint, &template, &names).await?;
    let lambdas = if args.binaries {
        let dir = std::env::current_exe()?
            .parent()
            .ok_or("no directory of evently-local")?
            .to_path_buf();
        let binaries: Vec<&str> = template.functions.iter().map(|(_, b)| b.as_str()).collect();
        std::fs::create_dir_all(".local/lambda-logs")?;
        let started = evently_local::lambda::start_all(
            &template,
            &names,
            &identities,
            &dir,
            &binaries,
            Some(std::path::Path::new(".local/lambda-logs")),
        )
        .await?;
        eprintln!(
            "{} functions running as their binaries from {} (logs in .local/lambda-logs)",
            started.len(),
            dir.display()
        );
        started
    } else {
        Default::default()
    };
    // The web app, when built (scripts/dev builds it): served at `/`.
    if std::env::var_os("EVENTLY_WEB_DIST").is_none()
        && std::path::Path::new("web/dist/index.html").exists()
    {
        std::env::set_var("EVENTLY_WEB_DIST", "web/dist");
    }
    let (bound, server) = evently_local::start_gateway_with(
        app,
        &identities,
        &template,
        addr,
        &endpoint,
        lambdas.clone(),
    )
    .await?;
    let mut settings = evently_local::EventSettings::from_env(format!("http://{bound}"));
    settings.lambdas = lambdas;
    let sources =
        evently_local::start_event_sources(app, &identities, &template, &endpoint, settings)
            .await?;
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

/// Prints the least-privilege report of the local endpoint's IAM and fails
/// on any denial (the template lacks a permission a test needed) or any
/// unused grant not justified in `justified`.
async fn iam_report(endpoint: &str, justified: &std::path::Path) -> Result<(), Error> {
    let text =
        std::fs::read_to_string(justified).map_err(|e| format!("{}: {e}", justified.display()))?;
    let mut reasons: std::collections::BTreeMap<(String, String), String> = Default::default();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(3, char::is_whitespace);
        let (Some(f), Some(a)) = (parts.next(), parts.next()) else {
            continue;
        };
        let why = parts.next().unwrap_or("").trim().to_owned();
        reasons.insert((f.to_owned(), a.to_owned()), why);
    }
    let report = evently_local::iam::report(endpoint).await?;
    let functions = report["functions"].as_object().cloned().unwrap_or_default();
    if functions.is_empty() {
        return Err("the local endpoint saw no function: was the suite run against it?".into());
    }
    let mut problems = Vec::new();
    let mut justified_seen = std::collections::BTreeSet::new();
    println!("IAM as the local endpoint enforced it (template.yaml's policies):");
    for (function, r) in &functions {
        let list = |k: &str| -> Vec<String> {
            r[k].as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let (used, unused, denied) = (list("used"), list("unused"), list("denied"));
        println!("  {function}: {} actions used", used.len());
        for action in unused {
            let key = (function.clone(), action.clone());
            match reasons.get(&key) {
                Some(why) => {
                    justified_seen.insert(key);
                    println!("    granted, unused (justified): {action} — {why}");
                }
                None => {
                    println!("    granted, unused: {action}");
                    problems.push(format!("{function} {action}: granted but never used; remove it from template.yaml or justify it in {}", justified.display()));
                }
            }
        }
        for d in denied {
            println!("    DENIED: {d}");
            problems.push(format!("{function} was denied {d}"));
        }
    }
    for key in reasons.keys() {
        if !justified_seen.contains(key) && functions.contains_key(&key.0) {
            problems.push(format!(
                "{} {} is justified as unused in {} but the suite used it: delete the line",
                key.0,
                key.1,
                justified.display()
            ));
        }
    }
    if problems.is_empty() {
        println!("iam-report: every grant used or justified, nothing denied");
        Ok(())
    } else {
        for p in &problems {
            eprintln!("iam-report: {p}");
        }
        Err(format!("iam-report: {} problem(s)", problems.len()).into())
    }
}
