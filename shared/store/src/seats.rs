//! Per-seat items of an event, one partition per event section.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use evently_core::venue::SeatPosition;
use evently_core::{Event, Money, Seat, SeatState};

use crate::tx::{n, s};
use crate::{attr_n, attr_s, keys, Store, StoreError};

/// The condition under which a seat can be taken by a new hold; shared by
/// counts here and by the hold transaction.
pub const SEAT_FREE_FILTER: &str =
    "#status = :available OR (#status = :held AND hold_expires_at <= :now)";

/// GSI2 partition of seats reserved for the waitlist, by when the sweeper
/// should look whether they still are: normally the worker offers or frees
/// them within seconds, so one still reserved after the grace period lost
/// its message (a stream record or queue message that never arrived).
pub(crate) const RESERVED_SEATS: &str = "SEATS#RESERVED";
/// How long a reserved seat waits for the worker before the sweeper hands
/// it out itself.
/// Row partitions of one section read at once.
const ROW_QUERIES_AT_ONCE: usize = 8;

pub const RESERVED_GRACE_SECS: i64 = 300;

/// The index attributes of a seat reserved at `at` (`SET GSI2PK = :rpk,
/// GSI2SK = :rsk`); leaving `reserved` removes them.
pub(crate) fn reserved_index(
    at: DateTime<Utc>,
    event_id: &str,
    section_id: &str,
    seat_id: &str,
) -> (AttributeValue, AttributeValue) {
    let due = at + chrono::Duration::seconds(RESERVED_GRACE_SECS);
    (
        s(RESERVED_SEATS),
        s(crate::offers::due_key(
            due,
            &format!("{event_id}#{section_id}#{seat_id}"),
        )),
    )
}

/// The progress attribute of a section at a price.
pub fn progress_key(section_id: &str, price: Money) -> String {
    format!("{section_id}@{price}")
}

/// A seat left reserved past its grace period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleReservation {
    pub event_id: String,
    pub section_id: String,
    pub seat_id: evently_core::SeatId,
}

fn seat_item(event_id: &str, pos: &SeatPosition, price: Money) -> HashMap<String, AttributeValue> {
    let seat_id = pos.id.to_string();
    HashMap::from([
        (keys::PK.into(), s(keys::seat_row(event_id, &pos.id))),
        (keys::SK.into(), s(keys::seat_sk(&seat_id))),
        ("entity".into(), s("seat")),
        ("event_id".into(), s(event_id)),
        ("section_id".into(), s(&pos.id.section)),
        ("seat_id".into(), s(seat_id)),
        ("row".into(), n(pos.row)),
        ("number".into(), n(pos.number)),
        ("x".into(), n(pos.x)),
        ("y".into(), n(pos.y)),
        ("price".into(), s(price.to_string())),
        ("status".into(), s("available")),
    ])
}

fn seat_of(item: &HashMap<String, AttributeValue>) -> Result<Seat, StoreError> {
    let id = attr_s(item, "seat_id")?
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("seat id: {e}")))?;
    let price = attr_s(item, "price")?
        .parse()
        .map_err(|_| StoreError::Corrupt("seat price".into()))?;
    let state = match attr_s(item, "status")? {
        "available" => SeatState::Available,
        "held" => SeatState::Held {
            hold_id: attr_s(item, "hold_id")?.to_owned(),
            holder_id: attr_s(item, "holder_id")?.to_owned(),
            hold_expires_at: attr_n(item, "hold_expires_at")?,
        },
        "booked" => SeatState::Booked {
            booking_id: attr_s(item, "booking_id")?.to_owned(),
        },
        "reserved" => SeatState::Reserved,
        other => return Err(StoreError::Corrupt(format!("seat status `{other}`"))),
    };
    let num = |name| attr_n(item, name).map(|v| v as u32);
    Ok(Seat {
        id,
        row: num("row")?,
        number: num("number")?,
        x: num("x")?,
        y: num("y")?,
        price,
        state,
    })
}

impl Store {
    /// Writes the seats of one section as available, 25 per request and
    /// four requests in flight, retrying what DynamoDB leaves unprocessed.
    /// Rewriting is harmless before publication, which makes a half-finished
    /// run resumable.
    pub async fn put_seats(
        &self,
        event_id: &str,
        seats: &[SeatPosition],
        price: Money,
    ) -> Result<(), StoreError> {
        for group in seats.chunks(25 * 4) {
            let writes = group
                .chunks(25)
                .map(|chunk| self.write_seat_batch(event_id, chunk, price));
            for outcome in futures::future::join_all(writes).await {
                outcome?;
            }
        }
        Ok(())
    }

    async fn write_seat_batch(
        &self,
        event_id: &str,
        chunk: &[SeatPosition],
        price: Money,
    ) -> Result<(), StoreError> {
        self.put_batch(
            chunk
                .iter()
                .map(|pos| seat_item(event_id, pos, price))
                .collect(),
        )
        .await
    }

    /// How many of a section's seat positions (in grid order) a draft's
    /// materialisation has written at `price`: a run cut short by its
    /// deadline resumes there. Progress at another price counts for
    /// nothing (new prices rewrite every seat).
    pub async fn seating_progress(
        &self,
        event_id: &str,
    ) -> Result<HashMap<String, u32>, StoreError> {
        let item = self.get_item(keys::seating_progress(event_id)).await?;
        Ok(item
            .unwrap_or_default()
            .iter()
            .filter(|(k, _)| k.contains('@'))
            .filter_map(|(k, v)| Some((k.clone(), v.as_n().ok()?.parse().ok()?)))
            .collect())
    }

    /// Records that the first `done` positions of a section are written at
    /// `price`.
    pub async fn record_seating_progress(
        &self,
        event_id: &str,
        section_id: &str,
        price: Money,
        done: u32,
    ) -> Result<(), StoreError> {
        let (pk, sk) = keys::seating_progress(event_id);
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET #at = :done, entity = :entity")
            .expression_attribute_names("#at", progress_key(section_id, price))
            .expression_attribute_values(":done", n(done))
            .expression_attribute_values(":entity", s("seating_progress"))
            .send()
            .await?;
        Ok(())
    }

    /// Every seat of a section, strongly consistent (a seat map must show a
    /// hold made a moment ago): one Query per row partition, a few at once.
    pub async fn section_seats(
        &self,
        event: &Event,
        section_id: &str,
    ) -> Result<Vec<Seat>, StoreError> {
        use futures::{StreamExt, TryStreamExt};
        let pages: Vec<Vec<Seat>> = futures::stream::iter(event.rows_of(section_id))
            .map(|row| async move {
                let query = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("PK = :pk")
                    .expression_attribute_values(
                        ":pk",
                        s(keys::section_row(&event.id, section_id, row)),
                    )
                    .consistent_read(true);
                self.query_all(query)
                    .await?
                    .iter()
                    .map(seat_of)
                    .collect::<Result<Vec<_>, StoreError>>()
            })
            .buffered(ROW_QUERIES_AT_ONCE)
            .try_collect()
            .await?;
        let mut seats: Vec<Seat> = pages.into_iter().flatten().collect();
        seats.sort_by_key(|seat| (seat.row, seat.number));
        Ok(seats)
    }

    /// Seats still reserved whose grace period ended by `now`.
    pub async fn stale_reservations(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<StaleReservation>, StoreError> {
        let items = self.query_all(self.due_query(RESERVED_SEATS, now)).await?;
        Ok(items
            .iter()
            .filter(|i| attr_s(i, "status").ok() == Some("reserved"))
            .filter_map(|i| {
                Some(StaleReservation {
                    event_id: attr_s(i, "event_id").ok()?.to_owned(),
                    section_id: attr_s(i, "section_id").ok()?.to_owned(),
                    seat_id: attr_s(i, "seat_id").ok()?.parse().ok()?,
                })
            })
            .collect())
    }

    /// How many seats of a section a new hold could take at `now`.
    pub async fn count_free_seats(
        &self,
        event: &Event,
        section_id: &str,
        now: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        use futures::{StreamExt, TryStreamExt};
        let counts: Vec<u32> = futures::stream::iter(event.rows_of(section_id))
            .map(|row| {
                let query = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("PK = :pk")
                    .filter_expression(SEAT_FREE_FILTER)
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(
                        ":pk",
                        s(keys::section_row(&event.id, section_id, row)),
                    )
                    .expression_attribute_values(":available", s("available"))
                    .expression_attribute_values(":held", s("held"))
                    .expression_attribute_values(":now", n(now.timestamp()))
                    .consistent_read(true);
                self.query_count(query)
            })
            .buffered(ROW_QUERIES_AT_ONCE)
            .try_collect()
            .await?;
        Ok(counts.into_iter().sum())
    }
}
