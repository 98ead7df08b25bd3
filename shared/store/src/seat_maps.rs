//! Seat maps: what a customer's seat map shows, kept apart from the seats
//! so that drawing it costs the same at 50,000 seats as at 50.
//!
//! One item per section row (`EVENT#<event>#MAP#<section>` / `ROW#<row>`),
//! with one attribute per seat that is not simply free (seat id → mark, see
//! `evently_core::SeatMark`). The analytics stream function writes them
//! from the seats' own stream records, one update per row a batch touched,
//! so a map trails the seats by the stream's lag; `rebuild_seat_map`
//! writes them from the seats (after seeding, and in `scripts/repair`).
//! A free seat has no attribute, so an event nobody has bought from has no
//! map items at all and reading a section is one Query whose size grows
//! with the seats taken, never with the seats there are.
//!
//! The map is advice for drawing: a hold is decided by the seat's own
//! conditional write, and a stale map costs a 409 naming the seats.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use evently_core::{SeatId, SeatMap, SeatMark};

use crate::tx::{n, s};
use crate::{keys, Store, StoreError};

/// One seat's new mark (None: free), from one stream record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatMarkChange {
    pub event_id: String,
    pub seat: SeatId,
    pub mark: Option<SeatMark>,
}

/// Seats per update: keeps each update expression far below DynamoDB's
/// 4 KB limit (a row has at most 200 seats).
const SEATS_PER_UPDATE: usize = 50;

impl Store {
    /// Applies `changes` in order (a seat's last change wins): one
    /// UpdateItem per row touched. Setting a mark is idempotent, so a
    /// batch applied twice (a retry) leaves the same map.
    pub async fn apply_seat_marks(&self, changes: &[SeatMarkChange]) -> Result<usize, StoreError> {
        // (event, section, row) → seat id → mark; BTreeMap for a stable
        // order of requests.
        let mut rows: BTreeMap<(String, String, u32), BTreeMap<String, Option<SeatMark>>> =
            BTreeMap::new();
        for c in changes {
            rows.entry((c.event_id.clone(), c.seat.section.clone(), c.seat.row))
                .or_default()
                .insert(c.seat.to_string(), c.mark);
        }
        let mut updates = Vec::new();
        for ((event_id, section_id, row), seats) in &rows {
            let seats: Vec<(&str, Option<SeatMark>)> = seats
                .iter()
                .map(|(id, mark)| (id.as_str(), *mark))
                .collect();
            for chunk in seats.chunks(SEATS_PER_UPDATE) {
                updates.push(self.mark_row(event_id, section_id, *row, chunk.to_vec()));
            }
        }
        let count = updates.len();
        futures::future::try_join_all(updates).await?;
        Ok(count)
    }

    async fn mark_row(
        &self,
        event_id: &str,
        section_id: &str,
        row: u32,
        seats: Vec<(&str, Option<SeatMark>)>,
    ) -> Result<(), StoreError> {
        let (pk, sk) = keys::seat_map_row(event_id, section_id, row);
        let mut set = vec!["entity = :entity".to_owned()];
        let mut remove = Vec::new();
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .expression_attribute_values(":entity", s("seat_map"));
        for (i, (seat, mark)) in seats.iter().enumerate() {
            req = req.expression_attribute_names(format!("#s{i}"), *seat);
            match mark {
                Some(m) => {
                    set.push(format!("#s{i} = :m{i}"));
                    req = req.expression_attribute_values(format!(":m{i}"), n(m));
                }
                None => remove.push(format!("#s{i}")),
            }
        }
        let mut expr = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expr.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        req.update_expression(expr).send().await?;
        Ok(())
    }

    /// The seat maps of `sections` of an event: one eventually consistent
    /// Query per section, run at once.
    pub async fn seat_maps(
        &self,
        event_id: &str,
        sections: &[&str],
    ) -> Result<Vec<SeatMap>, StoreError> {
        futures::future::try_join_all(
            sections
                .iter()
                .map(|section| self.section_seat_map(event_id, section)),
        )
        .await
    }

    async fn section_seat_map(
        &self,
        event_id: &str,
        section_id: &str,
    ) -> Result<SeatMap, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(keys::seat_map_section(event_id, section_id)));
        let mut map = SeatMap::new();
        for item in self.query_all(query).await? {
            for (name, value) in item {
                if name == keys::PK || name == keys::SK || name == "entity" {
                    continue;
                }
                if let AttributeValue::N(v) = value {
                    if let Ok(mark) = v.parse() {
                        map.insert(name, mark);
                    }
                }
            }
        }
        Ok(map)
    }

    /// Writes an event's seat maps from its seats (strongly consistent
    /// reads): after seeding, and to repair a map a lost stream record left
    /// wrong. Rows whose seats are all free are written empty.
    pub async fn rebuild_seat_map(&self, event: &evently_core::Event) -> Result<usize, StoreError> {
        let mut written = 0;
        for section in &event.sections {
            let seats = self.section_seats(event, &section.id).await?;
            let mut rows: BTreeMap<u32, HashMap<String, AttributeValue>> = BTreeMap::new();
            for seat in &seats {
                let row = rows.entry(seat.row).or_default();
                if let Some(mark) = seat.state.mark() {
                    row.insert(seat.id.to_string(), n(mark));
                }
            }
            for (row, marks) in rows {
                let (pk, sk) = keys::seat_map_row(&event.id, &section.id, row);
                let mut item = marks;
                item.insert(keys::PK.into(), s(pk));
                item.insert(keys::SK.into(), s(sk));
                item.insert("entity".into(), s("seat_map"));
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .send()
                    .await?;
                written += 1;
            }
        }
        Ok(written)
    }
}
