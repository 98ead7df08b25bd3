//! Lambda entry point: wiring only; the handler lives in lib.rs.

use evently_notify::Bus;
use evently_store::Store;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let table = std::env::var("TABLE_NAME")?;
    let bus_name = std::env::var("EVENT_BUS_NAME")?;
    let aws = evently_store::aws::load().await;
    let store: &'static Store = Box::leak(Box::new(Store::new(
        evently_store::aws::Client::new(&aws),
        table,
    )));
    let bus: &'static Bus = Box::leak(Box::new(Bus::new(
        evently_notify::EventBridgeClient::new(&aws),
        bus_name,
        evently_analytics::SOURCE,
    )));
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        analytics_stream::handler(store, bus, event)
    }))
    .await
}
