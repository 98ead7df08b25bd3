//! What every HTTP function shares: the `App` context built once per cold
//! start, request parsing with size and shape checks, JWT and argon2 auth,
//! and the single mapping from errors to problem+json responses.

pub mod admin;
pub mod app;
pub mod auth;
pub mod edge;
pub mod idempotency;
pub mod problem;
pub mod queue;
pub mod request;
pub mod response;
pub mod runtime;
pub mod throttle;
pub mod tickets;
pub mod views;

pub use app::{App, Config};
pub use auth::{Claims, TokenService};
pub use lambda_http::{Body, Request, Response};
pub use problem::ApiError;
pub use runtime::{reply, serve, serve_public, Handler, Reply};
