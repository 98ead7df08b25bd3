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
pub mod filter;
pub mod functions;
pub mod gateway;
pub mod iam;
pub mod lambda;
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
    identities: &iam::Identities,
    template: &template::Template,
    addr: SocketAddr,
    aws_endpoint: &str,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), Box<dyn std::error::Error + Send + Sync>> {
    start_gateway_with(
        app,
        identities,
        template,
        addr,
        aws_endpoint,
        HashMap::new(),
    )
    .await
}

/// `start_gateway` with the functions in `lambdas` (by binary name) served
/// by their real binaries under the Runtime API.
pub async fn start_gateway_with(
    app: &'static App,
    identities: &iam::Identities,
    template: &template::Template,
    addr: SocketAddr,
    aws_endpoint: &str,
    lambdas: HashMap<String, Arc<lambda::LocalLambda>>,
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
    let apps = template
        .functions
        .iter()
        .map(|(_, binary)| {
            let app: &'static App = Box::leak(Box::new(identities.app_for(app, binary)));
            (binary.clone(), app)
        })
        .collect();
    let gw = Arc::new(gateway::Gateway {
        app,
        apps,
        lambdas,
        router,
        dev,
        web: std::env::var_os("EVENTLY_WEB_DIST").map(std::path::PathBuf::from),
    });
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
    /// The keys (PK, SK) of the records each stream function was given,
    /// by binary name (what passed its filters), latest last.
    pub delivered: HashMap<String, events::Delivered>,
    /// The sweeper's engine (signing as the sweeper).
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
    /// How often the waiting rooms' admitter steps.
    pub admit_every: std::time::Duration,
    pub ttl_every: std::time::Duration,
    pub engine: evently_waitlist::EngineConfig,
    /// Feed the table's stream to the waitlist stream function (false only
    /// in tests standing in for a consumer whose records were lost).
    pub waitlist_stream: bool,
    /// Event functions run by their real binaries (by binary name); the
    /// rest run in-process.
    pub lambdas: HashMap<String, Arc<lambda::LocalLambda>>,
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
            admit_every: secs("ADMIT_STEP_SECONDS", 5.0),
            ttl_every: secs("TTL_SWEEP_SECONDS", 60.0),
            engine,
            waitlist_stream: true,
            lambdas: HashMap::new(),
        }
    }
}

/// The waiting rooms' admitter over `app`'s store and clock, signing as
/// the queue-admit function.
pub fn admitter_as(
    app: &'static App,
    identities: &iam::Identities,
    step_every: std::time::Duration,
) -> &'static queue_admit::Admitter {
    Box::leak(Box::new(queue_admit::Admitter {
        store: app.store.with_access_key(&identities.key_of("queue-admit")),
        clock: app.clock.clone(),
        step_every,
    }))
}

/// Provisions the queues and the SES sender of the template and starts the
/// stream poller, queue poller, sweeper schedule and TTL emulation.
pub async fn start_event_sources(
    app: &'static App,
    identities: &iam::Identities,
    template: &template::Template,
    endpoint: &str,
    settings: EventSettings,
) -> Result<EventSources, Box<dyn std::error::Error + Send + Sync>> {
    let aws = evently_store::aws::local_sdk_config(endpoint);
    start_event_sources_with(app, identities, template, &aws, settings).await
}

/// `start_event_sources` with every AWS client built from `aws`: resources
/// are provisioned with it as is (the deployer), and each function's
/// clients sign as that function (`identities`), the pollers included (in
/// AWS an event source mapping reads with the function's role).
pub async fn start_event_sources_with(
    app: &'static App,
    identities: &iam::Identities,
    template: &template::Template,
    aws: &evently_store::aws::SdkConfig,
    settings: EventSettings,
) -> Result<EventSources, Box<dyn std::error::Error + Send + Sync>> {
    let aws = aws.clone();
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let table = app.store.table().to_owned();
    let mut queues = events::provision_queues(&sqs, template, &table).await?;
    if settings.verify_sender {
        evently_notify::ses_client(&aws)
            .verify_email_identity()
            .email_address(&settings.sender)
            .send()
            .await?;
    }
    let engine_as = |binary: &str| -> &'static evently_waitlist::Engine {
        let sdk = identities.sdk_for(&aws, binary);
        Box::leak(Box::new(evently_waitlist::Engine {
            store: app.store.with_access_key(&identities.key_of(binary)),
            mailer: evently_notify::Mailer::new(
                evently_notify::ses_client(&sdk),
                settings.sender.clone(),
            ),
            clock: app.clock.clone(),
            payments: app.payments.clone(),
            crash: app.crash.clone(),
            config: settings.engine.clone(),
        }))
    };
    let worker = engine_as("waitlist-worker");
    let sweeper = engine_as("waitlist-sweeper");
    let waitlist_url = queues
        .get("WaitlistQueue")
        .ok_or("template has no WaitlistQueue")?
        .clone();
    let queue_as = |binary: &str| {
        evently_notify::Queue::new(
            aws_sdk_sqs::Client::new(&identities.sdk_for(&aws, binary)),
            waitlist_url.clone(),
        )
    };
    let bus_name = events::provision_bus(&aws, template, &table, &mut queues).await?;
    let bus = evently_notify::Bus::new(
        aws_sdk_eventbridge::Client::new(&identities.sdk_for(&aws, "analytics-stream")),
        bus_name,
        evently_analytics::SOURCE,
    );
    // Finding the table's stream is the local plumbing's own business (an
    // event source mapping is configured with its ARN): the deployer's.
    let dynamodb = evently_store::aws::dynamodb(&aws);
    // Two consumers of the stream, each with its own iterator, opened
    // before start-up returns so nothing written after it is missed.
    let mut consumers = vec![(
        "analytics-stream",
        events::analytics_consumer(
            app.store
                .with_access_key(&identities.key_of("analytics-stream")),
            bus,
        ),
    )];
    if settings.waitlist_stream {
        consumers.push((
            "waitlist-stream",
            events::waitlist_consumer(queue_as("waitlist-stream")),
        ));
    }
    let mut tasks = Vec::new();
    let mut delivered = HashMap::new();
    for (name, consumer) in consumers {
        let streams = aws_sdk_dynamodbstreams::Client::new(&identities.sdk_for(&aws, name));
        let first = events::open_stream(&streams, &dynamodb, &table).await?;
        // The mapping's FilterCriteria from the template, applied as
        // Lambda applies them: what they drop never reaches the function.
        let filters = template.stream_filters(name)?;
        // Its MaximumRetryAttempts and on-failure queue, which it sends to
        // with its own role, as Lambda does.
        let (retries, destination) = template.stream_retries(name);
        let on_failure = match destination {
            Some(queue) => Some((
                aws_sdk_sqs::Client::new(&identities.sdk_for(&aws, name)),
                queues
                    .get(&queue)
                    .ok_or(format!(
                        "{name}'s on-failure destination {queue} is not a provisioned queue"
                    ))?
                    .clone(),
            )),
            None => None,
        };
        let log = events::Delivered::default();
        delivered.insert(name.to_owned(), log.clone());
        let task = events::poll_stream(
            events::StreamSource {
                streams: streams.clone(),
                dynamodb: dynamodb.clone(),
                table: table.clone(),
                filters,
                delivered: log,
                lambda: settings.lambdas.get(name).cloned(),
                retries,
                on_failure,
            },
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
    let admitter = admitter_as(app, identities, settings.admit_every);
    let admitter_timeout = template.timeout_of("queue-admit");
    tasks.push(tokio::spawn(events::tick_admitter(
        admitter,
        settings.lambdas.get("queue-admit").cloned(),
        admitter_timeout,
    )));
    let worker_timeout = template.timeout_of("waitlist-worker");
    let sweeper_timeout = template.timeout_of("waitlist-sweeper");
    let worker_queue = queue_as("waitlist-worker");
    let worker_lambda = settings.lambdas.get("waitlist-worker").cloned();
    tasks.extend([
        tokio::spawn(async move {
            let backend = match worker_lambda {
                Some(l) => events::Backend::Lambda(l),
                None => events::Backend::InProcess(worker),
            };
            if let Err(e) = events::poll_queue(backend, worker_queue, worker_timeout).await {
                tracing::error!(error = %e, "queue poller stopped");
            }
        }),
        tokio::spawn(events::tick_sweeper(
            match settings.lambdas.get("waitlist-sweeper").cloned() {
                Some(l) => events::Backend::Lambda(l),
                None => events::Backend::InProcess(sweeper),
            },
            settings.sweep_every,
            sweeper_timeout,
        )),
        tokio::spawn(events::expire_ttl(dynamodb, table, settings.ttl_every)),
    ]);
    Ok(EventSources {
        delivered,
        engine: sweeper,
        queues,
        tasks,
    })
}
