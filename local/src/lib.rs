//! The local runtime: everything `scripts/dev` runs besides the AWS endpoint.
//!
//! * `template` reads template.yaml, the one source of truth for routes and
//!   resources;
//! * `provision` creates the template's resources in the local endpoint;
//! * `gateway` serves every route in-process on 127.0.0.1, as API Gateway
//!   would call the Lambda functions;
//! * `seed` loads the demo data of API.md.
//!
//! Event sources (stream, SQS, schedule, TTL, mailbox) join `gateway` as
//! background pollers with the waitlist issue.

pub mod bench;
pub mod events;
pub mod functions;
pub mod gateway;
pub mod mailbox;
pub mod provision;
pub mod seed;
pub mod template;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use evently_http::App;
use futures::FutureExt;

/// Starts the gateway for `template`'s routes on `addr` (port 0 picks one),
/// with `/_dev/health`. Returns the bound address and the serving task.
pub async fn start_gateway(
    app: &'static App,
    template: &template::Template,
    addr: SocketAddr,
    aws_endpoint: &str,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), Box<dyn std::error::Error + Send + Sync>> {
    let router = gateway::Router::new(
        &template.routes,
        &functions::http_handlers(),
        &template.timeouts,
    )?;
    let mut dev: HashMap<String, gateway::DevRoute> = HashMap::new();
    let routes = template.routes.len();
    dev.insert(
        "/_dev/health".into(),
        Arc::new(move |app: &'static App| async move { health(app, routes).await }.boxed()),
    );
    let endpoint = aws_endpoint.to_owned();
    dev.insert(
        "/_dev/mailbox.json".into(),
        Arc::new(move |_app: &'static App| {
            let endpoint = endpoint.clone();
            async move {
                match mailbox::messages(&endpoint).await {
                    Ok(m) => dev_response(
                        200,
                        "application/json",
                        serde_json::json!({ "messages": m }).to_string(),
                    ),
                    Err(e) => dev_response(503, "text/plain", e),
                }
            }
            .boxed()
        }),
    );
    let endpoint = aws_endpoint.to_owned();
    dev.insert(
        "/_dev/mailbox".into(),
        Arc::new(move |_app: &'static App| {
            let endpoint = endpoint.clone();
            async move {
                match mailbox::messages(&endpoint).await {
                    Ok(m) => dev_response(200, "text/html; charset=utf-8", mailbox::page(&m)),
                    Err(e) => dev_response(503, "text/plain", e),
                }
            }
            .boxed()
        }),
    );
    let listener = gateway::bind(addr).await?;
    let bound = listener.local_addr()?;
    let gw = Arc::new(gateway::Gateway { app, router, dev });
    Ok((bound, tokio::spawn(gateway::serve(listener, gw))))
}

fn dev_response(
    status: u16,
    content_type: &'static str,
    body: String,
) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    let mut resp = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(body)));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    resp.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static(content_type),
    );
    resp
}

async fn health(
    app: &'static App,
    routes: usize,
) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    let table = app.store.table().to_owned();
    let ready = app
        .store
        .client()
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .is_ok();
    let body = serde_json::json!({
        "status": if ready { "ok" } else { "unavailable" },
        "table": table,
        "routes": routes,
    });
    let mut resp = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(
        body.to_string(),
    )));
    *resp.status_mut() = if ready {
        hyper::StatusCode::OK
    } else {
        hyper::StatusCode::SERVICE_UNAVAILABLE
    };
    resp.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// What `start_event_sources` started.
pub struct EventSources {
    pub engine: &'static evently_waitlist::Engine,
    pub queues: events::Queues,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Settings of the local event sources.
#[derive(Debug, Clone)]
pub struct EventSettings {
    pub sender: String,
    /// Verify the sender identity in the local SES (false only for tests
    /// that need sending to fail).
    pub verify_sender: bool,
    pub public_base_url: String,
    pub stream_poll: std::time::Duration,
    pub sweep_every: std::time::Duration,
    pub ttl_every: std::time::Duration,
    pub engine: evently_waitlist::EngineConfig,
    /// Feed the table's stream to the waitlist stream function (false only
    /// in tests standing in for a consumer whose records were lost).
    pub waitlist_stream: bool,
}

impl EventSettings {
    pub fn from_env(public_base_url: String) -> Self {
        let secs = |name: &str, default: f64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| *v > 0.0)
                .map_or(
                    std::time::Duration::from_secs_f64(default),
                    std::time::Duration::from_secs_f64,
                )
        };
        let mut engine = evently_waitlist::EngineConfig::from_env();
        engine.public_base_url = public_base_url.clone();
        Self {
            sender: std::env::var("SENDER_EMAIL").unwrap_or_else(|_| "offers@evently.test".into()),
            verify_sender: true,
            public_base_url,
            stream_poll: secs("STREAM_POLL_SECONDS", 0.2),
            sweep_every: secs("SWEEP_INTERVAL_SECONDS", 60.0),
            ttl_every: secs("TTL_SWEEP_SECONDS", 60.0),
            engine,
            waitlist_stream: true,
        }
    }
}

/// Provisions the queues and the SES sender of the template and starts the
/// stream poller, queue poller, sweeper schedule and TTL emulation.
pub async fn start_event_sources(
    app: &'static App,
    template: &template::Template,
    endpoint: &str,
    settings: EventSettings,
) -> Result<EventSources, Box<dyn std::error::Error + Send + Sync>> {
    let aws = evently_store::aws::local_sdk_config(endpoint);
    start_event_sources_with(app, template, &aws, settings).await
}

/// `start_event_sources` with every AWS client built from `aws`.
pub async fn start_event_sources_with(
    app: &'static App,
    template: &template::Template,
    aws: &evently_store::aws::SdkConfig,
    settings: EventSettings,
) -> Result<EventSources, Box<dyn std::error::Error + Send + Sync>> {
    let aws = aws.clone();
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let ses = evently_notify::ses_client(&aws);
    let table = app.store.table().to_owned();
    let mut queues = events::provision_queues(&sqs, template, &table).await?;
    if settings.verify_sender {
        ses.verify_email_identity()
            .email_address(&settings.sender)
            .send()
            .await?;
    }
    let engine: &'static evently_waitlist::Engine = Box::leak(Box::new(evently_waitlist::Engine {
        store: app.store.clone(),
        mailer: evently_notify::Mailer::new(ses, settings.sender.clone()),
        clock: app.clock.clone(),
        payments: app.payments.clone(),
        crash: app.crash.clone(),
        config: settings.engine.clone(),
    }));
    let waitlist_url = queues
        .get("WaitlistQueue")
        .ok_or("template has no WaitlistQueue")?
        .clone();
    let queue = evently_notify::Queue::new(sqs, waitlist_url);
    let bus = events::provision_bus(&aws, template, &table, &mut queues).await?;
    let streams = aws_sdk_dynamodbstreams::Client::new(&aws);
    let dynamodb = app.store.client().clone();
    // Two consumers of the stream, each with its own iterator, opened
    // before start-up returns so nothing written after it is missed.
    let mut consumers = vec![(
        "analytics",
        events::analytics_consumer(app.store.clone(), bus),
    )];
    if settings.waitlist_stream {
        consumers.push(("waitlist", events::waitlist_consumer(queue.clone())));
    }
    let mut tasks = Vec::new();
    for (name, consumer) in consumers {
        let first = events::open_stream(&streams, &dynamodb, &table).await?;
        let task = events::poll_stream(
            streams.clone(),
            dynamodb.clone(),
            table.clone(),
            consumer,
            settings.stream_poll,
            first,
        );
        tasks.push(tokio::spawn(async move {
            if let Err(e) = task.await {
                tracing::error!(error = %e, consumer = name, "stream poller stopped");
            }
        }));
    }
    let worker_timeout = template.timeout_of("waitlist-worker");
    let sweeper_timeout = template.timeout_of("waitlist-sweeper");
    tasks.extend([
        tokio::spawn(async move {
            if let Err(e) = events::poll_queue(engine, queue, worker_timeout).await {
                tracing::error!(error = %e, "queue poller stopped");
            }
        }),
        tokio::spawn(events::tick_sweeper(
            engine,
            settings.sweep_every,
            sweeper_timeout,
        )),
        tokio::spawn(events::expire_ttl(dynamodb, table, settings.ttl_every)),
    ]);
    Ok(EventSources {
        engine,
        queues,
        tasks,
    })
}
