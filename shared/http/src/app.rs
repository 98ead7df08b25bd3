//! The context handlers run with: store, token service, clock and settings,
//! built once per cold start (or once per local gateway process).

use std::sync::Arc;

use evently_core::{Clock, CrashPoints, PaymentProvider, SimulatedPayments, SystemClock};
use evently_payments::Payments;
use evently_store::Store;

use crate::auth::TokenService;

#[derive(Debug, Clone)]
pub struct Config {
    pub access_token_ttl_secs: i64,
    pub hold_ttl_secs: i64,
    /// Seats one user may hold at once per event, across their holds.
    pub max_held_seats_per_user: i64,
    /// A request's time budget outside Lambda, when set; otherwise the
    /// local gateway gives each route its function's timeout from
    /// template.yaml, as Lambda would. In Lambda the invocation's own
    /// deadline counts.
    pub request_budget_ms: Option<u64>,
    /// How long a payment attempt may stay open before the sweeper settles
    /// it as lost: longer than any request runs.
    pub payment_settle_secs: i64,
    /// Failed logins allowed per account, per source address, and failed
    /// registrations per source address, in each window of
    /// `throttle_window_secs`.
    pub login_failures_per_account: u32,
    pub login_failures_per_ip: u32,
    pub register_failures_per_ip: u32,
    pub throttle_window_secs: i64,
    /// How long a function may answer from its own copy of a public event
    /// (see `EventCache`); 0 reads it every time.
    pub event_cache_secs: i64,
    /// How long a function may answer positions from its own copy of a
    /// waiting room's state (the admitter rewrites it every step); 0
    /// reads it every time.
    pub queue_cache_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 3600,
            hold_ttl_secs: 600,
            max_held_seats_per_user: 10,
            request_budget_ms: None,
            payment_settle_secs: 60,
            login_failures_per_account: 5,
            login_failures_per_ip: 20,
            register_failures_per_ip: 10,
            throttle_window_secs: 900,
            event_cache_secs: 5,
            queue_cache_ms: 1000,
        }
    }
}

impl Config {
    pub fn from_env() -> Self {
        let num = |name: &str, default: i64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|v: &i64| *v > 0)
                .unwrap_or(default)
        };
        let d = Self::default();
        Self {
            access_token_ttl_secs: num("ACCESS_TOKEN_TTL_SECONDS", d.access_token_ttl_secs),
            hold_ttl_secs: num("HOLD_TTL_SECONDS", d.hold_ttl_secs),
            max_held_seats_per_user: num("MAX_HELD_SEATS_PER_USER", d.max_held_seats_per_user),
            request_budget_ms: std::env::var("REQUEST_BUDGET_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|v: &u64| *v > 0),
            payment_settle_secs: num("PAYMENT_SETTLE_SECONDS", d.payment_settle_secs),
            login_failures_per_account: num(
                "LOGIN_FAILURES_PER_ACCOUNT",
                i64::from(d.login_failures_per_account),
            ) as u32,
            login_failures_per_ip: num("LOGIN_FAILURES_PER_IP", i64::from(d.login_failures_per_ip))
                as u32,
            register_failures_per_ip: num(
                "REGISTER_FAILURES_PER_IP",
                i64::from(d.register_failures_per_ip),
            ) as u32,
            throttle_window_secs: num("THROTTLE_WINDOW_SECONDS", d.throttle_window_secs),
            event_cache_secs: std::env::var("EVENT_CACHE_SECONDS")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|v: &i64| *v >= 0)
                .unwrap_or(d.event_cache_secs),
            queue_cache_ms: std::env::var("QUEUE_STATE_CACHE_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d.queue_cache_ms),
        }
    }
}

pub struct App {
    pub store: Store,
    pub tokens: TokenService,
    pub clock: Arc<dyn Clock>,
    pub payments: Arc<dyn PaymentProvider>,
    /// Injected crashes (tests and the local stack only; see `CrashPoints`).
    pub crash: Arc<CrashPoints>,
    pub config: Config,
    /// This function's copies of public events (one per process, like
    /// the clients).
    pub events: Arc<crate::views::EventCache>,
    /// Its copies of waiting rooms' states (see `Config::queue_cache_ms`).
    pub queues: Arc<crate::views::Cache<evently_core::QueueState>>,
    /// Whether the viewer's address an edge names is believed (see
    /// `crate::edge`): off unless `EDGE_KEY_ARN` names the edge secret.
    pub edge: crate::edge::EdgeTrust,
}

/// What a token from before a password change is told.
pub const SESSION_ENDED: &str =
    "this session ended when the account's password changed; log in again";

impl App {
    /// The caller from `Authorization: Bearer <token>`: signed by us,
    /// unexpired, and issued under the account's current token version (a
    /// password change or reset ends every session from before it). The
    /// version costs one eventually consistent read of the caller's own
    /// item; the on-sale's hold checks it inside its transaction instead
    /// (`evently_store::Store::create_hold`).
    pub async fn authenticate(
        &self,
        req: &lambda_http::Request,
    ) -> Result<crate::Claims, crate::ApiError> {
        let claims = self.tokens.authenticate(req).await?;
        self.session_current(&claims).await?;
        Ok(claims)
    }

    /// 401 unless `claims` were issued under the account's current token
    /// version (one eventually consistent read of the caller's item).
    pub async fn session_current(&self, claims: &crate::Claims) -> Result<(), crate::ApiError> {
        match self.store.token_version(&claims.sub).await? {
            Some(v) if v == claims.ver => Ok(()),
            Some(_) => Err(crate::ApiError::Unauthorized(SESSION_ENDED.into())),
            None => Err(crate::ApiError::Unauthorized(
                "the access token's account no longer exists".into(),
            )),
        }
    }

    /// The `outcome` of a route that checks the session inside its write
    /// transaction: a refusal (a 4xx other than 401) it gave before
    /// writing is said only while the session is current — an ended
    /// session is told so first and learns nothing else. Successes, 401s
    /// and server errors pass as they are.
    pub async fn session_checked<T>(
        &self,
        claims: &crate::Claims,
        outcome: Result<T, crate::ApiError>,
    ) -> Result<T, crate::ApiError> {
        match outcome {
            Err(e @ crate::ApiError::Unauthorized(_)) => Err(e),
            Err(refusal) if refusal.status().is_client_error() => {
                self.session_current(claims).await?;
                Err(refusal)
            }
            other => other,
        }
    }

    /// An app over `store` with the system clock and simulated payments
    /// (the local stack and tests; `from_env` chooses for Lambda).
    pub fn new(store: Store, jwt_secret: &[u8], config: Config) -> Result<Self, String> {
        Ok(Self {
            store,
            tokens: TokenService::new(jwt_secret)?,
            clock: Arc::new(SystemClock),
            payments: Arc::new(SimulatedPayments::default()),
            crash: Arc::new(CrashPoints::default()),
            config,
            events: Default::default(),
            queues: Default::default(),
            edge: crate::edge::EdgeTrust::off(),
        })
    }

    /// This app with every AWS client signing with access key `key` (the
    /// local runtime's identity of one function; see local/src/iam.rs).
    pub fn with_access_key(&self, key: &str) -> Self {
        Self {
            store: self.store.with_access_key(key),
            tokens: self.tokens.with_access_key(key),
            clock: self.clock.clone(),
            payments: self.payments.clone(),
            crash: self.crash.clone(),
            config: self.config.clone(),
            // Another function is another process: a cache of its own.
            events: Default::default(),
            queues: Default::default(),
            edge: self.edge.with_access_key(key),
        }
    }

    /// Money in and out, over this app's store, provider and clock.
    pub fn cashier(&self) -> Payments {
        Payments {
            store: self.store.clone(),
            provider: self.payments.clone(),
            clock: self.clock.clone(),
            crash: self.crash.clone(),
            settle_after_secs: self.config.payment_settle_secs,
        }
    }

    /// From the Lambda environment: `TABLE_NAME`, the signing keys'
    /// Secrets Manager secret `JWT_SECRET_ARN` (read on first use), and the
    /// AWS SDK's own variables (`AWS_ENDPOINT_URL` points it at the local
    /// stack). `tokens: false` for functions that take no token: they get
    /// no key and never ask Secrets Manager (nor may they, by IAM).
    pub async fn from_env(tokens: bool) -> Result<Self, String> {
        let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
        let aws = evently_store::aws::load().await;
        let store = Store::new(evently_store::aws::dynamodb(&aws), table);
        let tokens = match tokens {
            false => TokenService::none(),
            true => {
                let arn =
                    std::env::var("JWT_SECRET_ARN").map_err(|_| "JWT_SECRET_ARN is not set")?;
                TokenService::from_secrets_manager(aws_sdk_secretsmanager::Client::new(&aws), arn)
            }
        };
        // Behind CloudFront: the edge secret (template.yaml, EdgeKey), given
        // only to the functions that count failures per address.
        let edge = match std::env::var("EDGE_KEY_ARN") {
            Ok(arn) if !arn.is_empty() => crate::edge::EdgeTrust::from_secrets_manager(
                aws_sdk_secretsmanager::Client::new(&aws),
                arn,
            ),
            _ => crate::edge::EdgeTrust::off(),
        };
        Ok(Self {
            store,
            tokens,
            clock: Arc::new(SystemClock),
            payments: evently_payments::provider_from_env(),
            crash: Arc::new(CrashPoints::from_env()),
            config: Config::from_env(),
            events: Default::default(),
            queues: Default::default(),
            edge,
        })
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("table", &self.store.table())
            .finish_non_exhaustive()
    }
}
