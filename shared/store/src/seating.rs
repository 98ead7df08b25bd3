//! Writing an event's seats: a resumable job. The event is created
//! `materialising`; its seats are written in steps of 1,000 with the
//! progress of each section recorded after every step, so whoever carries
//! on — the creating request while it has time, then runs of the seating
//! job on the waitlist worker (`request_seating_run` bumps `seating_runs`,
//! which the table's stream turns into a queue message, as for an event's
//! cancellation) — starts where the last one stopped. Publishing needs
//! `ready`, so a half-written event is never on sale.

use evently_core::{Event, Seating};

use crate::tx::{n, s, written};
use crate::{keys, Store, StoreError};

/// Seat positions written between two looks at the clock (and two
/// progress records).
const SEATS_PER_STEP: usize = 1_000;
/// A step is only started with this much of the caller's time left
/// (`retry::remaining`: the request's or the job run's deadline), or twice
/// what the last step took when that was longer (a slow table, a local
/// endpoint under load).
const STEP_TIME: std::time::Duration = std::time::Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum SeatingError {
    #[error("section {0} of this event has no seat grid to write")]
    NoGrid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Writes the seats of a `materialising` draft that are not written
    /// yet, at their sections' prices, and marks the seating ready. Stops
    /// between steps when time runs short, or when the event's sections
    /// (prices) changed since `event` was read — then the writer of the
    /// change carries on — and returns the event as it left it.
    pub async fn materialise_seats(&self, event: &Event) -> Result<Event, SeatingError> {
        if event.seating == Seating::Ready {
            return Ok(event.clone());
        }
        let progress = self.seating_progress(&event.id).await?;
        let mut needed = STEP_TIME;
        for section in &event.sections {
            let grid = event
                .layout
                .iter()
                .find(|g| g.id == section.id)
                .ok_or_else(|| SeatingError::NoGrid(section.id.clone()))?;
            let seats = grid.seats();
            let key = crate::progress_key(&section.id, section.price);
            let mut done = progress.get(&key).copied().unwrap_or(0) as usize;
            while done < seats.len() {
                if crate::retry::remaining().is_some_and(|left| left < needed) {
                    tracing::info!(event = %event.id, section = %section.id, done, "seats still to write; the next run resumes");
                    return Ok(event.clone());
                }
                if done > 0 && !self.same_sections(event).await? {
                    tracing::info!(event = %event.id, "prices changed meanwhile; this run stops");
                    return Ok(event.clone());
                }
                let started = std::time::Instant::now();
                let step = &seats[done..(done + SEATS_PER_STEP).min(seats.len())];
                self.put_seats(&event.id, step, section.price).await?;
                done += step.len();
                self.record_seating_progress(&event.id, &section.id, section.price, done as u32)
                    .await?;
                needed = STEP_TIME.max(started.elapsed() * 2);
            }
        }
        if self.mark_seating_ready(event).await? {
            let mut ready = event.clone();
            ready.seating = Seating::Ready;
            return Ok(ready);
        }
        Ok(self
            .get_event(&event.id)
            .await?
            .unwrap_or_else(|| event.clone()))
    }

    /// Whether the stored event still has `event`'s sections and prices.
    async fn same_sections(&self, event: &Event) -> Result<bool, StoreError> {
        Ok(self.get_event(&event.id).await?.is_some_and(|now| {
            now.sections == event.sections && now.seating == Seating::Materialising
        }))
    }

    /// `materialising` → `ready`, only if the sections (prices) are still
    /// the ones the seats were written for: one attribute changed, so an
    /// edit made meanwhile is never overwritten.
    async fn mark_seating_ready(&self, event: &Event) -> Result<bool, StoreError> {
        let (pk, sk) = keys::event(&event.id);
        let sections = serde_dynamo::to_attribute_value(&event.sections)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET seating = :ready")
            .condition_expression("seating = :materialising AND sections = :sections")
            .expression_attribute_values(":ready", s("ready"))
            .expression_attribute_values(":materialising", s("materialising"))
            .expression_attribute_values(":sections", sections)
            .send()
            .await;
        written(result)
    }

    /// Asks for another run of the seating job (`seating_runs` + 1: the
    /// stream turns the change into a message for the worker). Nothing when
    /// the seating is ready by now.
    pub async fn request_seating_run(&self, event_id: &str) -> Result<(), StoreError> {
        let (pk, sk) = keys::event(event_id);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("ADD seating_runs :one")
            .condition_expression("seating = :materialising")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":materialising", s("materialising"))
            .send()
            .await;
        written(result).map(drop)
    }
}
