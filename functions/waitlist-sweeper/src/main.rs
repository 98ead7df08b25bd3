//! Lambda entry point: wiring only; the handler lives in lib.rs.

use evently_waitlist::Engine;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let engine: &'static Engine = Box::leak(Box::new(Engine::from_env().await?));
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        waitlist_sweeper::handler(engine, event)
    }))
    .await
}
