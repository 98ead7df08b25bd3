//! The EventBridge custom bus that domain events go to (schema in
//! docs/events.md).

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
#[error("EventBridge: {0}")]
pub struct BusError(pub String);

#[derive(Debug, Clone)]
pub struct Bus {
    client: aws_sdk_eventbridge::Client,
    name: String,
    source: String,
}

impl Bus {
    pub fn new(
        client: aws_sdk_eventbridge::Client,
        name: impl Into<String>,
        source: impl Into<String>,
    ) -> Self {
        Self {
            client,
            name: name.into(),
            source: source.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Puts `(detail_type, detail)` events on the bus, ten per request (the
    /// API's limit). Any entry EventBridge refuses fails the whole call, so
    /// the caller retries: delivery is at least once, and each detail
    /// carries an `id` consumers can use to drop repeats.
    pub async fn publish(&self, events: &[(&str, &Value)]) -> Result<(), BusError> {
        for chunk in events.chunks(10) {
            let entries = chunk
                .iter()
                .map(|(detail_type, detail)| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.name)
                        .source(&self.source)
                        .detail_type(*detail_type)
                        .detail(detail.to_string())
                        .build()
                })
                .collect();
            let out = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    BusError(aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string())
                })?;
            if out.failed_entry_count() > 0 {
                let why = out
                    .entries()
                    .iter()
                    .filter_map(|e| e.error_message())
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(BusError(format!(
                    "{} of {} events refused: {why}",
                    out.failed_entry_count(),
                    chunk.len()
                )));
            }
        }
        Ok(())
    }
}
