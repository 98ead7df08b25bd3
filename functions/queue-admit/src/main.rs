//! Lambda entry point: wiring only; the handler lives in lib.rs.

use queue_admit::Admitter;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let admitter: &'static Admitter = Box::leak(Box::new(Admitter::from_env().await?));
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        queue_admit::handler(admitter, event)
    }))
    .await
}
