//! The context handlers run with: store, token service, clock and settings,
//! built once per cold start (or once per local gateway process).

use std::sync::Arc;

use evently_core::{Clock, PaymentProvider, SimulatedPayments, SystemClock};
use evently_store::Store;

use crate::auth::TokenService;

#[derive(Debug, Clone)]
pub struct Config {
    pub access_token_ttl_secs: i64,
    pub hold_ttl_secs: i64,
    /// Seats one user may hold at once per event, across their holds.
    pub max_held_seats_per_user: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 3600,
            hold_ttl_secs: 600,
            max_held_seats_per_user: 10,
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
        }
    }
}

pub struct App {
    pub store: Store,
    pub tokens: TokenService,
    pub clock: Arc<dyn Clock>,
    pub payments: Arc<dyn PaymentProvider>,
    pub config: Config,
}

impl App {
    /// An app over `store` with the system clock and simulated payments.
    pub fn new(store: Store, jwt_secret: &[u8], config: Config) -> Result<Self, String> {
        Ok(Self {
            store,
            tokens: TokenService::new(jwt_secret)?,
            clock: Arc::new(SystemClock),
            // The simulator is the only provider shipped; a real one is
            // chosen here when it exists.
            payments: Arc::new(SimulatedPayments),
            config,
        })
    }

    /// From the Lambda environment: `TABLE_NAME`, `JWT_SECRET`, and the AWS
    /// SDK's own variables (`AWS_ENDPOINT_URL` points it at the local stack).
    pub async fn from_env() -> Result<Self, String> {
        let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
        let secret = std::env::var("JWT_SECRET").map_err(|_| "JWT_SECRET is not set")?;
        let aws = evently_store::aws::load().await;
        let store = Store::new(evently_store::aws::Client::new(&aws), table);
        Self::new(store, secret.as_bytes(), Config::from_env())
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("table", &self.store.table())
            .finish_non_exhaustive()
    }
}
