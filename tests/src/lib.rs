//! Test harness: a private table in the local AWS endpoint (started by
//! scripts/test, found through AWS_ENDPOINT_URL), created from template.yaml,
//! optionally seeded, with the local gateway serving it on 127.0.0.1:<random>.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::SubsecRound;
use evently_core::{FixedClock, SimulatedPayments};
use evently_http::{App, Config};
use evently_local::seed::{seed, SeedSize, Seeded};
use evently_local::template::Template;
use evently_store::Store;
use serde_json::Value;

pub use evently_local::seed::{DEMO_NIGHT, DEMO_PASSWORD};

pub const TEST_JWT_SECRET: &str = "test-signing-key-of-at-least-thirty-two-bytes";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn template() -> Template {
    Template::load(&repo_root().join("template.yaml")).expect("template.yaml parses")
}

pub struct Stack {
    pub app: &'static App,
    pub events: Option<evently_local::EventSources>,
    pub endpoint: String,
    /// The handlers' clock: tests move it instead of sleeping.
    pub clock: Arc<FixedClock>,
    pub base: String,
    pub http: reqwest::Client,
    pub seeded: Option<Seeded>,
    /// The payment simulator behind the handlers and the worker, when the
    /// stack runs the default one: its ledger is the money oracle.
    pub ledger: Option<Arc<SimulatedPayments>>,
    /// The SES sender of this stack's emails (unique per fault test, so SES
    /// faults can be scoped to it).
    pub sender: String,
    /// Every DynamoDB request sent, when the options asked for it.
    pub requests: RequestLog,
    /// The same table through a client of its own with the local stack's
    /// patient timeouts: for a test's own reads, never faulted by its
    /// attempt timeout while the endpoint is busy.
    pub oracle: Store,
    /// The waiting rooms' admitter (signing as queue-admit, on the stack's
    /// clock): tests step it with `admit` (a live stack also ticks it).
    pub admitter: &'static queue_admit::Admitter,
}

/// The DynamoDB requests a client sent: operation (`X-Amz-Target`) and JSON
/// body, in order.
#[derive(Debug, Clone, Default)]
pub struct RequestLog(Arc<std::sync::Mutex<Vec<(String, Value)>>>);

impl RequestLog {
    pub fn take(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for RequestLog {
    fn name(&self) -> &'static str {
        "RequestLog"
    }

    fn read_before_transmit(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let request = evently_local::bench::dynamodb_request(ctx);
        self.0.lock().expect("lock").push(request);
        Ok(())
    }
}

/// How to start a stack.
pub struct Options {
    pub seed: Option<SeedSize>,
    pub config: Config,
    /// Run the waitlist's event sources (stream pollers, queue worker,
    /// sweeper every `sweep`) with this engine config.
    pub waitlist: Option<(evently_waitlist::EngineConfig, std::time::Duration)>,
    /// The SES sender; left unverified unless it ends in `@evently.test`
    /// (so a test can make every send fail).
    pub sender: String,
    pub payments: Option<Arc<dyn evently_core::PaymentProvider>>,
    /// One AWS call attempt's timeout (the SDK retries after it).
    pub attempt_timeout_ms: Option<u64>,
    /// Keep every DynamoDB request the stack's client sends (`Stack::requests`).
    pub record_requests: bool,
    /// Feed the stream to the waitlist stream function (false: as if its
    /// records were lost).
    pub waitlist_stream: bool,
    /// template.yaml's text changed by this function before the stack
    /// starts (e.g. a permission taken away).
    pub template_edit: Option<fn(String) -> String>,
    /// The edge secret the functions trust (as if behind CloudFront; see
    /// evently_http::edge).
    pub edge_key: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seed: None,
            config: Config::default(),
            waitlist: None,
            sender: "offers@evently.test".into(),
            payments: None,
            attempt_timeout_ms: None,
            record_requests: false,
            waitlist_stream: true,
            template_edit: None,
            edge_key: None,
        }
    }
}

impl Stack {
    pub async fn start(size: Option<SeedSize>) -> Stack {
        Self::start_with(size, Config::default()).await
    }

    pub async fn start_with(size: Option<SeedSize>, config: Config) -> Stack {
        Self::start_opts(Options {
            seed: size,
            config,
            ..Options::default()
        })
        .await
    }

    /// The whole stack as scripts/dev runs it: every event source (the two
    /// stream functions, so seat maps and analytics follow the seats; the
    /// worker; the sweeper every second).
    pub async fn start_live(size: Option<SeedSize>) -> Stack {
        Self::start_with_waitlist(
            size,
            evently_waitlist::EngineConfig::default(),
            std::time::Duration::from_secs(1),
        )
        .await
    }

    /// With the waitlist's event sources running (stream poller, queue
    /// worker, sweeper every `sweep` interval) and this engine config.
    pub async fn start_with_waitlist(
        size: Option<SeedSize>,
        engine: evently_waitlist::EngineConfig,
        sweep: std::time::Duration,
    ) -> Stack {
        Self::start_opts(Options {
            seed: size,
            waitlist: Some((engine, sweep)),
            ..Options::default()
        })
        .await
    }

    /// Like `start_with_waitlist`, sending from `sender` (left unverified
    /// unless it is one of ours, so SES rejects every send).
    pub async fn start_with_waitlist_sender(
        size: Option<SeedSize>,
        engine: evently_waitlist::EngineConfig,
        sweep: std::time::Duration,
        sender: &'static str,
    ) -> Stack {
        Self::start_opts(Options {
            seed: size,
            waitlist: Some((engine, sweep)),
            sender: sender.into(),
            ..Options::default()
        })
        .await
    }

    /// Like `start_with_waitlist`, with this payment provider behind the
    /// handlers and the worker (to make refunds fail on purpose).
    pub async fn start_with_waitlist_payments(
        engine: evently_waitlist::EngineConfig,
        payments: Arc<dyn evently_core::PaymentProvider>,
        sweep: std::time::Duration,
    ) -> Stack {
        Self::start_opts(Options {
            waitlist: Some((engine, sweep)),
            payments: Some(payments),
            ..Options::default()
        })
        .await
    }

    pub async fn start_opts(opts: Options) -> Stack {
        quiet_injected_crashes();
        // RUST_LOG=info shows what the handlers and event sources did.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let endpoint = std::env::var("AWS_ENDPOINT_URL")
            .expect("AWS_ENDPOINT_URL is not set: run the tests through scripts/test, which starts the local AWS endpoint");
        assert!(
            endpoint.starts_with("http://127.0.0.1"),
            "tests only talk to 127.0.0.1, not {endpoint}"
        );
        let template = match opts.template_edit {
            None => template(),
            Some(edit) => {
                let text = std::fs::read_to_string(repo_root().join("template.yaml"))
                    .expect("template.yaml");
                Template::parse(&edit(text)).expect("the edited template parses")
            }
        };
        let sdk = match opts.attempt_timeout_ms {
            Some(ms) => evently_store::aws::local_sdk_config_timeouts(&endpoint, ms, ms * 8),
            None => evently_store::aws::local_sdk_config(&endpoint),
        };
        let requests = RequestLog::default();
        let client = if opts.record_requests {
            evently_store::aws::Client::from_conf(
                evently_store::aws::dynamodb_config(&sdk)
                    .interceptor(requests.clone())
                    .build(),
            )
        } else {
            evently_store::aws::dynamodb(&sdk)
        };
        let table = format!("test-{}", evently_core::new_id().to_lowercase());
        evently_local::provision::create_table(&client, &template.tables[0], &table)
            .await
            .expect("create table");
        let oracle_client = evently_store::aws::local_client(&endpoint);
        let oracle = Store::new(oracle_client.clone(), table.clone());
        let store = Store::new(client, table.clone());
        let seeded = match opts.seed {
            Some(size) => seed(&store, chrono::Utc::now(), size).await.expect("seed"),
            None => None,
        };
        let clock = Arc::new(FixedClock::at(chrono::Utc::now().trunc_subsecs(0)));
        let mut app = App::new(store, TEST_JWT_SECRET.as_bytes(), opts.config).expect("app");
        app.clock = clock.clone();
        if let Some(key) = &opts.edge_key {
            app.edge = evently_http::edge::EdgeTrust::fixed(key.clone());
        }
        let ledger = match opts.payments {
            Some(p) => {
                app.payments = p;
                None
            }
            None => {
                let sim = Arc::new(SimulatedPayments::default());
                app.payments = sim.clone();
                Some(sim)
            }
        };
        let app: &'static App = Box::leak(Box::new(app));
        // Every function signs as itself: the endpoint holds each to its
        // policies in the template (local/src/iam.rs).
        let identities = evently_local::iam::register_stack(
            &endpoint,
            &template,
            &oracle_client,
            &table,
            &[("SenderEmail", &opts.sender)],
            opts.template_edit.is_none(),
        )
        .await
        .expect("the template's policies register");
        let (addr, _task) = evently_local::start_gateway(
            app,
            &identities,
            &template,
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            &endpoint,
        )
        .await
        .expect("gateway starts");
        let admitter =
            evently_local::admitter_as(app, &identities, std::time::Duration::from_secs(1));
        let events = match opts.waitlist {
            Some((mut engine, sweep)) => {
                engine.public_base_url = format!("http://{addr}");
                let settings = evently_local::EventSettings {
                    sender: opts.sender.clone(),
                    verify_sender: opts.sender.ends_with("@evently.test"),
                    public_base_url: engine.public_base_url.clone(),
                    stream_poll: std::time::Duration::from_millis(100),
                    sweep_every: sweep,
                    admit_every: std::time::Duration::from_secs(1),
                    ttl_every: std::time::Duration::from_secs(3600),
                    engine,
                    waitlist_stream: opts.waitlist_stream,
                    lambdas: Default::default(),
                };
                Some(
                    evently_local::start_event_sources_with(
                        app,
                        &identities,
                        &template,
                        &sdk,
                        settings,
                    )
                    .await
                    .expect("event sources start"),
                )
            }
            None => None,
        };
        Stack {
            events,
            endpoint: endpoint.clone(),
            app,
            clock,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            seeded,
            ledger,
            sender: opts.sender,
            requests,
            oracle,
            admitter,
        }
    }

    /// One step of the waiting rooms' admitter at the stack's clock.
    pub async fn admit(&self) -> queue_admit::AdmitReport {
        let mut report = queue_admit::AdmitReport::default();
        queue_admit::step_all(self.admitter, &mut report)
            .await
            .expect("admission step");
        report
    }

    /// Switches on faults in the local AWS endpoint for this stack only:
    /// each rule is scoped to this stack's table (DynamoDB) or sender (SES).
    /// `rules` as in local/moto/faults.py.
    pub async fn faults(&self, seed: u64, rules: Value) {
        let table = self.app.store.table().to_owned();
        let rules: Vec<Value> = rules
            .as_array()
            .expect("rules are a list")
            .iter()
            .map(|r| {
                let mut r = r.clone();
                if r["service"] == "ses" {
                    r["senders"] = serde_json::json!([self.sender]);
                } else {
                    r["tables"] = serde_json::json!([table]);
                }
                r
            })
            .collect();
        let resp = self
            .http
            .post(format!("{}/_evently/faults?scope={table}", self.endpoint))
            .json(&serde_json::json!({ "seed": seed, "rules": rules }))
            .send()
            .await
            .expect("fault control");
        assert!(
            resp.status().is_success(),
            "{}",
            resp.text().await.unwrap_or_default()
        );
    }

    /// Every fault of this stack off.
    pub async fn no_faults(&self) {
        let table = self.app.store.table();
        let resp = self
            .http
            .delete(format!("{}/_evently/faults?scope={table}", self.endpoint))
            .send()
            .await
            .expect("fault control");
        assert!(resp.status().is_success());
    }

    /// The local endpoint's fault-control status (rules and counts).
    async fn fault_status(&self) -> Value {
        self.http
            .get(format!("{}/_evently/faults", self.endpoint))
            .send()
            .await
            .expect("fault control")
            .json()
            .await
            .expect("json")
    }

    /// How many faults this stack's current rules (the last `faults` call)
    /// have injected so far.
    pub async fn injected_here(&self) -> u64 {
        self.rules_here()
            .await
            .iter()
            .filter_map(|r| r["injected"].as_u64())
            .sum()
    }

    /// This stack's current DynamoDB rules as the endpoint reports them,
    /// each with the `injected` count of its hits.
    pub async fn rules_here(&self) -> Vec<Value> {
        let status = self.fault_status().await;
        let table = self.app.store.table();
        status["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| {
                r["tables"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|x| x == table))
            })
            .cloned()
            .collect()
    }

    /// A published event of `owner`'s, written straight to the store (fast:
    /// no HTTP, no seed): one section `A` of `rows` × `per_row` seats at
    /// `price`, starting in ten days, free cancellation, in `currency`.
    pub async fn event_with(
        &self,
        owner: &str,
        rows: u32,
        per_row: u32,
        price: &str,
        currency: &str,
    ) -> evently_core::Event {
        let store = &self.app.store;
        let venue: evently_core::admin::VenueInput = serde_json::from_value(serde_json::json!({
            "name": format!("Hall {}", &evently_core::new_id()[20..]), "city": "Oslo",
            "sections": [{"id": "A", "name": "Stalls", "rows": rows, "seats_per_row": per_row, "default_price": price}]
        }))
        .expect("venue");
        let venue = venue
            .into_template(
                evently_core::new_id(),
                owner.to_owned(),
                "2026-01-01T00:00:00Z".into(),
            )
            .expect("valid venue");
        store.put_venue(&venue).await.expect("venue");
        let starts = self.app.clock.now() + chrono::Duration::days(10);
        let input: evently_core::admin::EventInput = serde_json::from_value(serde_json::json!({
            "venue_id": venue.id, "name": format!("Night {}", &evently_core::new_id()[20..]),
            "starts_at": evently_core::clock::rfc3339(starts),
            "ends_at": evently_core::clock::rfc3339(starts + chrono::Duration::hours(2)),
            "currency": currency,
        }))
        .expect("event");
        let mut event = input
            .into_event(
                evently_core::new_id(),
                owner.to_owned(),
                &venue,
                self.app.clock.now(),
            )
            .expect("valid event");
        store.create_event(&event).await.expect("event");
        store
            .put_seats(
                &event.id,
                &venue.sections[0].seats(),
                price.parse().expect("price"),
            )
            .await
            .expect("seats");
        let read = event.clone();
        event.seating = evently_core::Seating::Ready;
        store.save_event(&event, &read).await.expect("seats ready");
        let read = event.clone();
        event.status = evently_core::EventStatus::Published;
        store.save_event(&event, &read).await.expect("publish");
        event
    }

    /// The simulator's ledger (panics when the stack runs another provider).
    pub fn ledger(&self) -> evently_core::Ledger {
        self.ledger
            .as_ref()
            .expect("the stack's simulator")
            .ledger()
    }

    /// The waitlist engine of this stack's event sources.
    pub fn engine(&self) -> &'static evently_waitlist::Engine {
        self.events.as_ref().expect("event sources running").engine
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        answer(req.send().await.expect("request")).await
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let req = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body);
        answer(req.send().await.expect("request")).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(path, body.to_string()).await
    }

    /// POST with a bearer token and optional Idempotency-Key.
    pub async fn post_as(
        &self,
        token: &str,
        path: &str,
        body: &Value,
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self.http.post(self.url(path)).bearer_auth(token).json(body);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        answer(req.send().await.expect("request")).await
    }

    pub async fn delete_as(&self, token: &str, path: &str) -> (u16, Value) {
        let req = self.http.delete(self.url(path)).bearer_auth(token);
        answer(req.send().await.expect("request")).await
    }

    /// A customer account made directly in the store with a token from the
    /// app's token service: for tests that need many users fast.
    pub async fn customer(&self, name: &str) -> (String, String) {
        self.user_with_role(name, evently_core::Role::Customer)
            .await
    }

    /// An organizer account, made the same way.
    pub async fn organizer(&self, name: &str) -> (String, String) {
        self.user_with_role(name, evently_core::Role::Organizer)
            .await
    }

    /// An admin account (sees and manages every organizer's events).
    pub async fn admin(&self, name: &str) -> (String, String) {
        self.user_with_role(name, evently_core::Role::Admin).await
    }

    async fn user_with_role(&self, name: &str, role: evently_core::Role) -> (String, String) {
        let id = evently_core::new_id();
        // Unique per run: the local endpoint's mailbox outlives one test.
        let email = format!(
            "{}.{}@example.test",
            name.to_lowercase(),
            id[16..].to_lowercase()
        );
        let user = evently_core::User {
            id,
            email,
            name: name.to_owned(),
            role,
        };
        self.app
            .store
            .create_user(&user, "not-a-password-hash", "2026-01-01T00:00:00Z")
            .await
            .expect("user");
        let token = self
            .app
            .tokens
            .issue(&user, 0, self.app.clock.now(), 3600)
            .await
            .expect("token");
        (user.id, token)
    }

    /// Any method with a JSON body (or none) as `token`.
    pub async fn send_as(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(b);
        }
        answer(req.send().await.expect("request")).await
    }

    /// Domain events the bus delivered to the local capture queue since
    /// the last call (received and deleted), as EventBridge envelopes.
    pub async fn drain_domain_events(&self) -> Vec<Value> {
        let sources = self.events.as_ref().expect("event sources running");
        let url = sources
            .queues
            .get(evently_local::events::DOMAIN_EVENTS_CAPTURE)
            .expect("capture queue");
        let sqs = aws_sdk_sqs::Client::new(&evently_store::aws::local_sdk_config(&self.endpoint));
        let mut out = Vec::new();
        loop {
            let got = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            let messages = got.messages();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                if let Ok(v) = serde_json::from_str(m.body().unwrap_or("")) {
                    out.push(v);
                }
                if let Some(r) = m.receipt_handle() {
                    let _ = sqs
                        .delete_message()
                        .queue_url(url)
                        .receipt_handle(r)
                        .send()
                        .await;
                }
            }
        }
    }

    /// Holds seats and returns (status, body).
    /// A seat's status as of the stack's clock, read from the seat itself
    /// (strongly consistent): the truth that the seat maps the API draws
    /// from trail by the stream's lag.
    pub async fn seat_status(&self, event_id: &str, seat: &str) -> String {
        let id: evently_core::SeatId = seat.parse().expect("a seat id");
        let now = self.app.clock.now();
        let found = self
            .section_seats(event_id, &id.section)
            .await
            .into_iter()
            .find(|s| s.id == id)
            .unwrap_or_else(|| panic!("no seat {seat}"));
        serde_json::to_value(found.state.status_at(now))
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .expect("a status")
    }

    /// Every seat of a section as stored (strongly consistent, through the
    /// test's own client).
    pub async fn section_seats(&self, event_id: &str, section: &str) -> Vec<evently_core::Seat> {
        let event = self
            .oracle
            .get_event(event_id)
            .await
            .expect("event read")
            .unwrap_or_else(|| panic!("no event {event_id}"));
        self.oracle
            .section_seats(&event, section)
            .await
            .expect("seats")
    }

    /// The seats of a section a hold could take now, read from the seats.
    pub async fn free_seats(&self, event_id: &str, section: &str) -> Vec<String> {
        let now = self.app.clock.now();
        self.section_seats(event_id, section)
            .await
            .into_iter()
            .filter(|s| s.state.status_at(now) == evently_core::SeatStatus::Available)
            .map(|s| s.id.to_string())
            .collect()
    }

    pub async fn hold(
        &self,
        token: &str,
        event_id: &str,
        section: &str,
        seats: &[&str],
    ) -> (u16, Value) {
        let body =
            serde_json::json!({"event_id": event_id, "section_id": section, "seat_ids": seats});
        self.post_as(token, "/api/v1/seats/hold", &body, None).await
    }

    pub async fn confirm(&self, token: &str, hold_id: &str, card: &str) -> (u16, Value) {
        let body = serde_json::json!({"hold_id": hold_id, "payment_details": {"card_token": card}});
        self.post_as(token, "/api/v1/bookings/confirm", &body, None)
            .await
    }

    /// Logs in and returns the access token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let (status, body) = self
            .post(
                "/api/v1/auth/login",
                &serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(status, 200, "login {email}: {body}");
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// Emails the local endpoint captured, newest first (from /_dev/mailbox.json).
    pub async fn mailbox(&self) -> Vec<Value> {
        let (status, body) = self.get("/_dev/mailbox.json", None).await;
        assert_eq!(status, 200, "{body}");
        body["messages"].as_array().cloned().unwrap_or_default()
    }

    /// Waits (polling, bounded) until `check` holds; panics after `secs`.
    pub async fn eventually<F, Fut>(&self, what: &str, secs: u64, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        self.eventually_some(what, secs, || {
            let holds = check();
            async move { holds.await.then_some(()) }
        })
        .await
    }

    /// Waits (polling, bounded) until `check` finds something, and returns
    /// it; panics after `secs`.
    pub async fn eventually_some<T, F, Fut>(&self, what: &str, secs: u64, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while std::time::Instant::now() < deadline {
            if let Some(found) = check().await {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("timed out after {secs}s waiting for: {what}");
    }

    /// The seed's Flows 1–3 up to the offer: user1 books both seats of
    /// Evently Demo Night, user2 joins its waitlist for 2, user1 cancels.
    /// Returns user2's token (the waitlist then hands the seats to user2).
    pub async fn demo_night_cancelled_with_a_waiter(&self) -> String {
        let demo = self.event_id(DEMO_NIGHT);
        let user1 = self.login("user1@example.com", DEMO_PASSWORD).await;
        let user2 = self.login("user2@example.com", DEMO_PASSWORD).await;
        let (_, hold) = self.hold(&user1, &demo, "A", &["A-1-1", "A-1-2"]).await;
        let (status, booked) = self
            .confirm(&user1, hold["hold_id"].as_str().unwrap_or(""), "tok_visa")
            .await;
        assert_eq!(status, 201, "{booked}");
        let join = serde_json::json!({"event_id": demo, "quantity": 2});
        let (status, entry) = self
            .post_as(&user2, "/api/v1/waitlist/join", &join, None)
            .await;
        assert_eq!(status, 201, "{entry}");
        let booking = booked["booking"]["id"].as_str().expect("booking");
        let (status, cancelled) = self
            .delete_as(&user1, &format!("/api/v1/bookings/{booking}/cancel"))
            .await;
        assert_eq!(status, 200, "{cancelled}");
        user2
    }

    /// The id of a seeded event by name.
    pub fn event_id(&self, name: &str) -> String {
        self.seeded
            .as_ref()
            .and_then(|s| s.events.iter().find(|e| e.name == name))
            .map(|e| e.id.clone())
            .unwrap_or_else(|| panic!("no seeded event {name}"))
    }
}

/// Injected crashes are panics on purpose (see `evently_core::CrashPoints`):
/// one line each in the test output instead of a backtrace.
fn quiet_injected_crashes() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or("");
            if msg.starts_with("injected crash at ") {
                eprintln!("({msg})");
            } else {
                previous(info);
            }
        }));
    });
}

/// Status and JSON body; asserts problem+json on every error status.
pub async fn answer(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = resp.text().await.expect("body");
    if status >= 400 {
        assert_eq!(
            content_type, "application/problem+json",
            "error {status} without problem+json: {text}"
        );
    }
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    if status >= 400 {
        assert_eq!(body["status"], status, "problem status field: {body}");
        assert!(
            body["title"].is_string() && body["detail"].is_string() && body["type"].is_string(),
            "{body}"
        );
    }
    (status, body)
}

/// The payment simulator, except that the refund with one idempotency key
/// fails the first time it is asked for; records the keys refunded.
#[derive(Default)]
pub struct RefundFailsOnce {
    pub fail_key: std::sync::Mutex<Option<String>>,
    pub refunded: std::sync::Mutex<Vec<String>>,
    pub inner: evently_core::SimulatedPayments,
}

impl evently_core::PaymentProvider for RefundFailsOnce {
    fn charge<'a>(
        &'a self,
        card_token: &'a str,
        amount: evently_core::Money,
        key: &'a str,
    ) -> evently_core::payment::PaymentFuture<'a, String> {
        self.inner.charge(card_token, amount, key)
    }

    fn refund<'a>(
        &'a self,
        payment_id: &'a str,
        amount: evently_core::Money,
        key: &'a str,
    ) -> evently_core::payment::PaymentFuture<'a, String> {
        let fail = {
            let mut k = self.fail_key.lock().expect("lock");
            let hit = k.as_deref() == Some(key);
            if hit {
                *k = None;
            }
            hit
        };
        if fail {
            return Box::pin(async {
                Err(evently_core::PaymentError::Unavailable(
                    "provider down for a moment".into(),
                ))
            });
        }
        self.refunded.lock().expect("lock").push(key.to_owned());
        self.inner.refund(payment_id, amount, key)
    }
}
