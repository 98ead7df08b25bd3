//! How a handler runs: in Lambda through `serve`, locally through the
//! gateway in `local/`, both through `run`, which gives the request its
//! time budget.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use lambda_http::{service_fn, Body, Request, RequestExt, Response};
use tokio::time::Instant;

use crate::{ApiError, App};

pub type Reply = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;

/// What every function crate exports as `handler`.
pub type Handler = fn(&'static App, Request) -> Reply;

/// Boxes a handler's work and turns its error into problem+json.
pub fn reply<F>(work: F) -> Reply
where
    F: Future<Output = Result<Response<Body>, ApiError>> + Send + 'static,
{
    Box::pin(async move { work.await.unwrap_or_else(ApiError::into_response) })
}

/// Time kept back from the invocation's deadline to answer in: a request
/// that runs out of budget answers 503 itself rather than being killed by
/// Lambda's timeout with nothing said.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(750);

/// When this request must have answered: the Lambda invocation's deadline
/// less a margin; outside Lambda, `request_budget_ms` from now if set,
/// else `timeout` (the function's, from template.yaml) less the margin.
pub fn deadline(app: &App, req: &Request, timeout: Duration) -> Instant {
    match (req.lambda_context_ref(), app.config.request_budget_ms) {
        (Some(ctx), _) => {
            let at = evently_store::retry::deadline_at(ctx.deadline());
            at.checked_sub(ANSWER_MARGIN).unwrap_or(at)
        }
        (None, Some(ms)) => Instant::now() + Duration::from_millis(ms),
        (None, None) => Instant::now() + timeout.saturating_sub(ANSWER_MARGIN),
    }
}

/// Runs a handler within the request's budget (`timeout`: the function's,
/// used outside Lambda). Retries of transient AWS failures stop before the
/// deadline (see `evently_store::retry`), and a request still running at
/// it is answered 503 "try again": every step is safe to interrupt, as a
/// crash would.
pub async fn run(
    app: &'static App,
    handler: Handler,
    req: Request,
    timeout: Duration,
) -> Response<Body> {
    let deadline = deadline(app, &req, timeout);
    let work = evently_store::retry::within(deadline, handler(app, req));
    match tokio::time::timeout_at(deadline, work).await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::warn!("request ran out of its time budget; answering 503");
            ApiError::unavailable("this took too long on our side; try again").into_response()
        }
    }
}

/// The body of every function's `main`: JSON logs, clients built once, then
/// the Lambda runtime loop.
pub async fn serve(handler: Handler) -> Result<(), lambda_http::Error> {
    serve_with(handler, true).await
}

/// `serve` for a function that takes no access token (the catalog, claim
/// links): it holds no signing key.
pub async fn serve_public(handler: Handler) -> Result<(), lambda_http::Error> {
    serve_with(handler, false).await
}

async fn serve_with(handler: Handler, tokens: bool) -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let app: &'static App = Box::leak(Box::new(App::from_env(tokens).await?));
    // In Lambda the invocation's deadline decides; the timeout is unused.
    let timeout = Duration::from_secs(900);
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(run(app, handler, req, timeout).await)
    }))
    .await
}
