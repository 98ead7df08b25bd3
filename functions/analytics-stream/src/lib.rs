//! The table's stream → seat maps, analytics counters and domain events.
//! The second consumer of the stream (the waitlist stream function is the
//! first): the seats' changes go to their rows' seat maps (one update per
//! row the batch touched; setting a mark twice changes nothing), every
//! record's counter deltas are applied exactly once (a marker per record,
//! in the same transaction), then the domain events the batch announces
//! go to the EventBridge bus. Any failure reports the batch's
//! first record, so Lambda retries it whole: the counters skip what they
//! already applied, and the bus may see an event again (at least once,
//! with a stable `id`).

use evently_analytics::{domain_event, project, Record};
use evently_core::{SeatId, SeatState};
use evently_notify::Bus;
use evently_store::{Applicable, SeatMarkChange, Store};
use serde_json::Value;

/// Handles one batch; returns the sequence numbers to report as failed.
pub async fn project_batch(store: &Store, bus: &Bus, records: &[Record]) -> Vec<String> {
    let Some(first) = records.first() else {
        return Vec::new();
    };
    let marks: Vec<SeatMarkChange> = records.iter().filter_map(seat_mark).collect();
    if let Err(e) = store.apply_seat_marks(&marks).await {
        tracing::error!(error = %e, "seat maps not updated");
        return vec![first.sequence_number.clone()];
    }
    let applicable: Vec<Applicable> = records
        .iter()
        .filter_map(|r| {
            project(r).map(|effects| Applicable {
                record_id: r.id.clone(),
                at: r.at,
                effects,
            })
        })
        .collect();
    if let Err(e) = store.apply_analytics(&applicable).await {
        tracing::error!(error = %e, "analytics counters not updated");
        return vec![first.sequence_number.clone()];
    }
    let events: Vec<_> = records.iter().filter_map(domain_event).collect();
    let entries: Vec<(&str, &Value)> = events.iter().map(|e| (e.detail_type, &e.detail)).collect();
    if let Err(e) = bus.publish(&entries).await {
        tracing::error!(error = %e, bus = bus.name(), "domain events not published");
        return vec![first.sequence_number.clone()];
    }
    Vec::new()
}

/// A seat's new mark for its seat map, from the seat's stream record: None
/// for a record of anything else, and for a seat whose mark did not change
/// (a seat written as available, a draft's seats rewritten at a new price:
/// writing 100,000 seats costs the map nothing). A deleted seat is unmarked.
pub fn seat_mark(record: &Record) -> Option<SeatMarkChange> {
    let image = record.new.as_ref().or(record.old.as_ref())?;
    if image.get("entity")?.as_str()? != "seat" {
        return None;
    }
    let event_id = image.get("event_id")?.as_str()?.to_owned();
    let seat: SeatId = image.get("seat_id")?.as_str()?.parse().ok()?;
    // No image: no seat, which draws as free.
    let before = record.old.as_ref().map_or(Some(None), mark_of);
    let after = record.new.as_ref().map_or(Some(None), mark_of);
    if before == after {
        return None;
    }
    Some(SeatMarkChange {
        event_id,
        seat,
        mark: after.flatten(),
    })
}

/// The mark of a seat image: Some(None) for a free seat, None when the
/// image is not a readable seat.
fn mark_of(image: &Value) -> Option<Option<evently_core::SeatMark>> {
    let number = |field: &str| {
        let v = image.get(field)?;
        v.as_i64().or_else(|| v.as_str()?.parse().ok())
    };
    let state = match image.get("status")?.as_str()? {
        "available" => SeatState::Available,
        "held" => SeatState::Held {
            hold_id: String::new(),
            holder_id: String::new(),
            hold_expires_at: number("hold_expires_at")?,
        },
        "booked" => SeatState::Booked {
            booking_id: String::new(),
        },
        "reserved" => SeatState::Reserved,
        _ => return None,
    };
    Some(state.mark())
}

/// The Lambda handler: decodes the DynamoDB stream event and reports
/// partial batch failures (`ReportBatchItemFailures`).
pub async fn handler(
    store: &Store,
    bus: &Bus,
    event: lambda_runtime::LambdaEvent<aws_lambda_events::event::dynamodb::Event>,
) -> Result<aws_lambda_events::event::streams::DynamoDbEventResponse, lambda_runtime::Error> {
    let records: Vec<Record> = event
        .payload
        .records
        .iter()
        .map(|r| Record {
            id: r.event_id.clone(),
            sequence_number: r.change.sequence_number.clone().unwrap_or_default(),
            at: r.change.approximate_creation_date_time.timestamp(),
            old: evently_store::stream_image(&r.change.old_image),
            new: evently_store::stream_image(&r.change.new_image),
        })
        .collect();
    let failed = project_batch(store, bus, &records).await;
    Ok(evently_store::stream_failures(failed))
}
