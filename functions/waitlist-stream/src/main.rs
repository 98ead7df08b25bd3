//! Lambda entry point: wiring only; the handler lives in lib.rs.

use evently_notify::Queue;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let url = std::env::var("WAITLIST_QUEUE_URL")?;
    let aws = evently_store::aws::load().await;
    let queue: &'static Queue = Box::leak(Box::new(Queue::new(
        evently_notify::SqsClient::new(&aws),
        url,
    )));
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        waitlist_stream::handler(queue, event)
    }))
    .await
}
