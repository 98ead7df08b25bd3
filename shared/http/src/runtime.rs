//! How a handler runs: in Lambda through `serve`, locally through the
//! gateway in `local/`, both calling the same `Handler`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

use lambda_http::{service_fn, Body, Request, Response};

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

/// The body of every function's `main`: JSON logs, clients built once, then
/// the Lambda runtime loop.
pub async fn serve(handler: Handler) -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let app: &'static App = Box::leak(Box::new(App::from_env().await?));
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(handler(app, req).await)
    }))
    .await
}
