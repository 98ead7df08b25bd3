//! A run of a draft event's seating job (evently_store's seating.rs), on
//! the worker: writes seats until `stop_at`, then asks for another run if
//! any are left, so no run outlives the worker's timeout however large the
//! event.

use evently_core::Seating;

use crate::{Engine, EngineError};

impl Engine {
    pub async fn seat_event(
        &self,
        event_id: &str,
        stop_at: tokio::time::Instant,
    ) -> Result<(), EngineError> {
        let Some(event) = self.store.get_event(event_id).await? else {
            return Err(EngineError::Missing(format!("event {event_id}")));
        };
        if event.seating == Seating::Ready {
            return Ok(());
        }
        let left = evently_store::retry::within(stop_at, self.store.materialise_seats(&event))
            .await
            .map_err(|e| match e {
                evently_store::SeatingError::NoGrid(s) => {
                    EngineError::Missing(format!("the seat grid of section {s} of {event_id}"))
                }
                evently_store::SeatingError::Store(e) => e.into(),
            })?;
        if left.seating == Seating::Materialising {
            self.store.request_seating_run(event_id).await?;
            tracing::info!(event = %event_id, "seating continues in a new run");
        } else {
            tracing::info!(event = %event_id, seats = left.total_seats(), "seating ready");
        }
        Ok(())
    }
}
