//! Analytics maintained from the table's stream: one counters item per
//! event, seats held per expiry bucket, and a marker per applied stream
//! record that makes every application exactly-once (a redelivered record
//! finds its marker and changes nothing).
//!
//! Held seats: every batch adds the seats of the holds it saw start (and
//! takes away those it saw end before expiring) to the event's item for
//! the 10-second bucket their expiry falls in (`EVENT#<id>#HELD` /
//! `<bucket end, 12 digits>`). Seats held now are the sum over buckets
//! ending after now: an abandoned hold stops counting at most 10 s after
//! it expires, with no write at expiry. Until 2026-12-02 this was one
//! marker item per hold in that partition — one write per hold, all on
//! one partition in an on-sale; now it is one write per bucket per batch.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use evently_analytics::{Counter, Effects, LiveHold};
use evently_core::Event;

use crate::tx::{build_err, failure, n, s, TxError};
use crate::{attr_n, attr_s, keys, Item, Store, StoreError};

/// Applied-record markers outlive the stream's 24 h retention.
const APPLIED_MARKER_SECS: i64 = 2 * 24 * 3600;
/// Held-seat buckets are dropped by TTL an hour after they end (reads
/// ignore them from then on).
const HELD_MARKER_GRACE_SECS: i64 = 3600;
/// The width of a held-seat bucket.
const HELD_BUCKET_SECS: i64 = 10;
/// Records per transaction: one marker, at most one counters update, one
/// held-seat bucket update and one hourly sales bucket update each, within
/// DynamoDB's 100 items.
const RECORDS_PER_TX: usize = 25;
/// The width of a sales bucket (the dashboard's sales over time).
const SALES_BUCKET_SECS: i64 = 3600;
/// What a sales bucket counts: the money and the bookings, as they happen.
const SALES_COUNTERS: [Counter; 5] = [
    Counter::Bookings,
    Counter::Sold,
    Counter::SalesCents,
    Counter::Cancellations,
    Counter::RefundsCents,
];

/// One hour of an event's sales: bookings, seats sold (net of
/// cancellations), sales and refunds in cents, cancellations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesHour {
    pub hour: i64,
    pub counts: BTreeMap<Counter, i64>,
}

/// The analytics item of a new event (counters start at zero).
pub(crate) fn analytics_item(event: &Event) -> Item {
    let (pk, _) = keys::event(&event.id);
    let starts = evently_core::clock::rfc3339(event.starts_at);
    let mut item = HashMap::from([
        (keys::PK.to_owned(), s(pk)),
        (keys::SK.to_owned(), s(keys::ANALYTICS_SK)),
        ("entity".to_owned(), s("analytics")),
        ("event_id".to_owned(), s(&event.id)),
        ("owner_id".to_owned(), s(&event.owner_id)),
        ("name".to_owned(), s(&event.name)),
        ("status".to_owned(), s(event_status(event))),
        ("currency".to_owned(), s(&event.currency)),
        ("capacity".to_owned(), n(event.total_seats())),
        (keys::GSI1PK.to_owned(), s(keys::ALL_ANALYTICS)),
        (keys::GSI1SK.to_owned(), s(format!("{starts}#{}", event.id))),
        (
            keys::GSI2PK.to_owned(),
            s(keys::owner_analytics(&event.owner_id)),
        ),
        (keys::GSI2SK.to_owned(), s(format!("{starts}#{}", event.id))),
    ]);
    for c in Counter::ALL {
        item.insert(c.attribute().to_owned(), n(0));
    }
    item
}

fn event_status(event: &Event) -> &'static str {
    match event.status {
        evently_core::EventStatus::Draft => "draft",
        evently_core::EventStatus::Published => "published",
        evently_core::EventStatus::Cancelled => "cancelled",
    }
}

/// Mirrors an event's name, status and capacity onto its analytics item.
pub(crate) async fn sync_analytics(store: &Store, event: &Event) -> Result<(), StoreError> {
    let (pk, _) = keys::event(&event.id);
    store
        .client
        .update_item()
        .table_name(&store.table)
        .key(keys::PK, s(pk))
        .key(keys::SK, s(keys::ANALYTICS_SK))
        .update_expression(
            "SET #name = :name, #status = :status, #capacity = :capacity, currency = :currency",
        )
        .expression_attribute_names("#name", "name")
        .expression_attribute_names("#capacity", "capacity")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":name", s(&event.name))
        .expression_attribute_values(":status", s(event_status(event)))
        .expression_attribute_values(":capacity", n(event.total_seats()))
        .expression_attribute_values(":currency", s(&event.currency))
        .send()
        .await?;
    Ok(())
}

/// The held-seat bucket a hold expiring at `expires_at` counts in: the
/// first multiple of `HELD_BUCKET_SECS` at or after it.
fn held_bucket(expires_at: i64) -> i64 {
    expires_at.div_euclid(HELD_BUCKET_SECS) * HELD_BUCKET_SECS
        + if expires_at.rem_euclid(HELD_BUCKET_SECS) == 0 {
            0
        } else {
            HELD_BUCKET_SECS
        }
}

fn held_key(event_id: &str, bucket: i64) -> (String, String) {
    // Zero-padded so the sort key orders by time.
    (keys::event_live_holds(event_id), format!("{bucket:012}"))
}

/// An update of the item at `key` adding each counter's delta (the item is
/// created if absent), after `set` (a `SET …` clause whose names and values
/// the caller adds, or empty). Counter names go through placeholders:
/// several are DynamoDB reserved words.
fn counters_update(
    table: &str,
    (pk, sk): (String, String),
    counts: &[(Counter, i64)],
    set: &str,
) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    let adds = counts
        .iter()
        .map(|(c, _)| format!("#{0} :{0}", c.attribute()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut update = Update::builder()
        .table_name(table)
        .key(keys::PK, s(pk))
        .key(keys::SK, s(sk))
        .update_expression(format!("{set} ADD {adds}").trim_start().to_owned());
    for (c, by) in counts {
        update = update
            .expression_attribute_names(format!("#{}", c.attribute()), c.attribute())
            .expression_attribute_values(format!(":{}", c.attribute()), n(by));
    }
    update
}

/// An update adding `by` seats to a held-seat bucket (created if absent).
fn held_update(table: &str, event_id: &str, bucket: i64, by: i64) -> Result<Update, StoreError> {
    let (pk, sk) = held_key(event_id, bucket);
    Update::builder()
        .table_name(table)
        .key(keys::PK, s(pk))
        .key(keys::SK, s(sk))
        .update_expression("ADD seats :by SET entity = :entity, ends_at = :ends, #ttl = :ttl")
        .expression_attribute_names("#ttl", keys::TTL)
        .expression_attribute_values(":by", n(by))
        .expression_attribute_values(":entity", s("held_bucket"))
        .expression_attribute_values(":ends", n(bucket))
        .expression_attribute_values(":ttl", n(bucket + HELD_MARKER_GRACE_SECS))
        .build()
        .map_err(build_err)
}

/// Whether these records started and/or ended one hold.
type HoldSpan<'a> = (Option<&'a LiveHold>, Option<&'a LiveHold>);

/// One stream record's effects, ready to apply.
#[derive(Debug, Clone)]
pub struct Applicable {
    pub record_id: String,
    /// When the change happened (epoch seconds), for marker expiry.
    pub at: i64,
    pub effects: Effects,
}

/// The counters of one event as stored, plus seats held right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCounters {
    pub event_id: String,
    pub owner_id: String,
    pub name: String,
    pub status: String,
    /// ISO 4217 code of the event's prices: money adds up per currency.
    pub currency: String,
    pub capacity: i64,
    pub counts: BTreeMap<Counter, i64>,
    pub held: i64,
}

impl EventCounters {
    pub fn get(&self, c: Counter) -> i64 {
        self.counts.get(&c).copied().unwrap_or(0)
    }

    /// Seats a new hold could take: capacity − sold − reserved − live holds
    /// (none once the event is cancelled: nothing is for sale).
    pub fn available(&self) -> i64 {
        if self.status == "cancelled" {
            return 0;
        }
        let taken = self.get(Counter::Sold) + self.get(Counter::Reserved) + self.held;
        (self.capacity - taken).max(0)
    }
}

impl Store {
    /// Applies each record's effects exactly once: a batch goes in one
    /// transaction per `RECORDS_PER_TX` records with a marker per record;
    /// when any marker already exists (a redelivery) the records of that
    /// transaction are applied one by one, skipping those already applied.
    /// Returns how many records were newly applied.
    pub async fn apply_analytics(&self, records: &[Applicable]) -> Result<usize, StoreError> {
        let mut applied = 0;
        for chunk in records.chunks(RECORDS_PER_TX) {
            if self.apply_together(chunk).await? {
                applied += chunk.len();
                continue;
            }
            for one in chunk {
                if self.apply_together(std::slice::from_ref(one)).await? {
                    applied += 1;
                }
            }
        }
        Ok(applied)
    }

    /// One transaction for these records; false when a marker showed one
    /// was applied before (nothing written).
    async fn apply_together(&self, records: &[Applicable]) -> Result<bool, StoreError> {
        if records.is_empty() {
            return Ok(true);
        }
        let mut items = Vec::new();
        for r in records {
            let put = Put::builder()
                .table_name(&self.table)
                .item(keys::PK, s(keys::applied_record(&r.record_id)))
                .item(keys::SK, s("APPLIED"))
                .item("entity", s("applied_record"))
                .item(keys::TTL, n(r.at + APPLIED_MARKER_SECS))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map_err(build_err)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        // DynamoDB allows one operation per item in a transaction: merge the
        // counter deltas per event and settle each hold's marker.
        let mut deltas: BTreeMap<&str, BTreeMap<Counter, i64>> = BTreeMap::new();
        let mut sales: BTreeMap<(&str, i64), BTreeMap<Counter, i64>> = BTreeMap::new();
        let mut holds: BTreeMap<(&str, &str), HoldSpan> = BTreeMap::new();
        for r in records {
            let fx = &r.effects;
            let per_event = deltas.entry(fx.event_id.as_str()).or_default();
            let hour = r.at.div_euclid(SALES_BUCKET_SECS) * SALES_BUCKET_SECS;
            for (c, by) in &fx.counts {
                *per_event.entry(*c).or_default() += by;
                if SALES_COUNTERS.contains(c) {
                    *sales
                        .entry((fx.event_id.as_str(), hour))
                        .or_default()
                        .entry(*c)
                        .or_default() += by;
                }
            }
            if let Some(h) = &fx.hold_started {
                holds
                    .entry((fx.event_id.as_str(), h.hold_id.as_str()))
                    .or_default()
                    .0 = Some(h);
            }
            if let Some(h) = &fx.hold_ended {
                holds
                    .entry((fx.event_id.as_str(), h.hold_id.as_str()))
                    .or_default()
                    .1 = Some(h);
            }
        }
        for (event_id, counts) in deltas {
            let counts: Vec<(Counter, i64)> = counts.into_iter().filter(|(_, v)| *v != 0).collect();
            if counts.is_empty() {
                continue;
            }
            let (pk, _) = keys::event(event_id);
            let update = counters_update(&self.table, (pk, keys::ANALYTICS_SK.into()), &counts, "");
            items.push(
                TransactWriteItem::builder()
                    .update(update.build().map_err(build_err)?)
                    .build(),
            );
        }
        // Seats per (event, expiry bucket): a hold that started and ended
        // within these records counts nowhere.
        let mut held: BTreeMap<(&str, i64), i64> = BTreeMap::new();
        for ((event_id, _), (started, ended)) in holds {
            match (started, ended) {
                (Some(_), Some(_)) | (None, None) => {}
                (Some(h), None) => {
                    *held
                        .entry((event_id, held_bucket(h.expires_at)))
                        .or_default() += h.seats;
                }
                (None, Some(h)) => {
                    *held
                        .entry((event_id, held_bucket(h.expires_at)))
                        .or_default() -= h.seats;
                }
            }
        }
        for ((event_id, bucket), by) in held {
            if by != 0 {
                let update = held_update(&self.table, event_id, bucket, by)?;
                items.push(TransactWriteItem::builder().update(update).build());
            }
        }
        for ((event_id, hour), counts) in sales {
            let counts: Vec<(Counter, i64)> = counts.into_iter().filter(|(_, v)| *v != 0).collect();
            if counts.is_empty() {
                continue;
            }
            let key = (keys::event_sales(event_id), format!("{hour:012}"));
            // `hour` is a DynamoDB reserved word: through a placeholder.
            let update = counters_update(
                &self.table,
                key,
                &counts,
                "SET entity = :entity, #hour = :hour",
            )
            .expression_attribute_names("#hour", "hour")
            .expression_attribute_values(":entity", s("sales_hour"))
            .expression_attribute_values(":hour", n(hour));
            items.push(
                TransactWriteItem::builder()
                    .update(update.build().map_err(build_err)?)
                    .build(),
            );
        }
        let req = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items));
        match crate::tx::commit(req).await {
            Ok(()) => Ok(true),
            // Only a marker (the first `records.len()` items) failing its
            // condition means "applied before"; another failed condition is
            // corrupt data, an error retried by Lambda.
            Err(TxError::Refused(reasons))
                if reasons
                    .iter()
                    .take(records.len())
                    .any(|r| failure(r) == Some("ConditionalCheckFailed")) =>
            {
                Ok(false)
            }
            Err(TxError::Refused(reasons)) => Err(StoreError::Corrupt(format!(
                "analytics transaction refused: {:?}",
                reasons.iter().filter_map(failure).collect::<Vec<_>>()
            ))),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    /// An event's counters and the seats in live holds at `now`.
    pub async fn event_counters(
        &self,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<EventCounters>, StoreError> {
        let (pk, _) = keys::event(event_id);
        let Some(item) = self.get_item((pk, keys::ANALYTICS_SK.to_owned())).await? else {
            return Ok(None);
        };
        let mut counters = counters_of(&item)?;
        counters.held = self.live_held(event_id, now).await?;
        Ok(Some(counters))
    }

    /// Counters of every event of an organizer (or of everyone's, for an
    /// admin), each with its live holds.
    pub async fn all_counters(
        &self,
        owner_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<EventCounters>, StoreError> {
        let mut all = self.counted_events(owner_id).await?;
        // A handful of keyed range reads, eight at a time.
        for chunk in all.chunks_mut(8) {
            let ids: Vec<String> = chunk.iter().map(|c| c.event_id.clone()).collect();
            let held =
                futures::future::join_all(ids.iter().map(|id| self.live_held(id, now))).await;
            for (c, h) in chunk.iter_mut().zip(held) {
                c.held = h?;
            }
        }
        Ok(all)
    }

    /// The analytics items of an organizer's events (everyone's for an
    /// admin), without reading live holds (`held` is 0): one query.
    pub async fn counted_events(
        &self,
        owner_id: Option<&str>,
    ) -> Result<Vec<EventCounters>, StoreError> {
        let query = match owner_id {
            Some(owner) => self.index_query(keys::GSI2, keys::owner_analytics(owner)),
            None => self.index_query(keys::GSI1, keys::ALL_ANALYTICS),
        };
        self.query_all(query)
            .await?
            .iter()
            .map(counters_of)
            .collect()
    }

    /// An event's sales hour by hour, oldest first (hours with none are
    /// absent): one Query of its sales partition.
    pub async fn sales_by_hour(&self, event_id: &str) -> Result<Vec<SalesHour>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(keys::event_sales(event_id)));
        Ok(self
            .query_all(query)
            .await?
            .iter()
            .map(|i| SalesHour {
                hour: attr_n(i, "hour").unwrap_or(0),
                counts: SALES_COUNTERS
                    .iter()
                    .map(|c| (*c, attr_n(i, c.attribute()).unwrap_or(0)))
                    .collect(),
            })
            .collect())
    }

    /// Seats in holds that have not ended or expired by `now` (to within a
    /// bucket): the held-seat buckets ending after now, one small Query.
    async fn live_held(&self, event_id: &str, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK > :now")
            .expression_attribute_values(":pk", s(keys::event_live_holds(event_id)))
            .expression_attribute_values(":now", s(format!("{:012}", now.timestamp())))
            .consistent_read(true);
        Ok(self
            .query_all(query)
            .await?
            .iter()
            .map(|i| attr_n(i, "seats").unwrap_or(0))
            .sum())
    }
}

fn counters_of(item: &Item) -> Result<EventCounters, StoreError> {
    let counts = Counter::ALL
        .iter()
        .map(|c| (*c, attr_n(item, c.attribute()).unwrap_or(0)))
        .collect();
    Ok(EventCounters {
        event_id: attr_s(item, "event_id")?.to_owned(),
        owner_id: attr_s(item, "owner_id").unwrap_or_default().to_owned(),
        name: attr_s(item, "name").unwrap_or_default().to_owned(),
        status: attr_s(item, "status").unwrap_or_default().to_owned(),
        // Items from before the currency was recorded: every such event
        // was priced in the default currency.
        currency: attr_s(item, "currency").unwrap_or("USD").to_owned(),
        capacity: attr_n(item, "capacity").unwrap_or(0),
        counts,
        held: 0,
    })
}

/// Holds live at a moment: hold id → (seats, expiry in epoch seconds).
pub type LiveHolds = BTreeMap<String, (i64, i64)>;

/// What `recount_analytics` found and wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recount {
    pub before: BTreeMap<Counter, i64>,
    pub after: BTreeMap<Counter, i64>,
    /// Held-seat buckets set to what the live holds say (missing or wrong)
    /// and buckets emptied (they counted holds that ended).
    pub markers_added: usize,
    pub markers_removed: usize,
    /// Hourly sales buckets written or deleted to match the bookings.
    pub sales_hours_rewritten: usize,
}

/// An event's sales hour by hour as its bookings tell them: each booking
/// in the hour it was made (a booking, its seats sold, its price), each
/// cancellation in the hour it happened (a cancellation, its refund, its
/// seats sold back). The stream counts by the hour its records were
/// written, which is the same hour but for a write that straddles one.
fn sales_from(bookings: &[evently_core::Booking]) -> BTreeMap<i64, BTreeMap<Counter, i64>> {
    let mut hours: BTreeMap<i64, BTreeMap<Counter, i64>> = BTreeMap::new();
    let hour = |at: DateTime<Utc>| at.timestamp().div_euclid(SALES_BUCKET_SECS) * SALES_BUCKET_SECS;
    for b in bookings {
        let seats = b.seat_ids.len() as i64;
        let made = hours.entry(hour(b.created_at)).or_default();
        *made.entry(Counter::Bookings).or_default() += 1;
        *made.entry(Counter::Sold).or_default() += seats;
        *made.entry(Counter::SalesCents).or_default() += b.total_price.cents();
        if b.status == evently_core::BookingStatus::Cancelled {
            let at = b.cancelled_at.unwrap_or(b.created_at);
            let undone = hours.entry(hour(at)).or_default();
            *undone.entry(Counter::Cancellations).or_default() += 1;
            *undone.entry(Counter::Sold).or_default() -= seats;
            *undone.entry(Counter::RefundsCents).or_default() +=
                b.refund_amount.unwrap_or_default().cents();
        }
    }
    hours
}

impl Store {
    /// What an event's counters should be, counted from its items as they
    /// are now (seats, bookings, waitlist entries, offers), with the holds
    /// live at `now` (hold id → seats, expiry). Reads only.
    pub async fn count_analytics(
        &self,
        event: &Event,
        now: DateTime<Utc>,
    ) -> Result<(BTreeMap<Counter, i64>, LiveHolds), StoreError> {
        let mut after: BTreeMap<Counter, i64> = Counter::ALL.iter().map(|c| (*c, 0)).collect();
        let mut bump = |c: Counter, by: i64| *after.entry(c).or_default() += by;
        // Seats: booked and reserved now; holds live now.
        let mut live = LiveHolds::new();
        for section in &event.sections {
            for seat in self.section_seats(event, &section.id).await? {
                match seat.state {
                    evently_core::SeatState::Booked { .. } => bump(Counter::Sold, 1),
                    evently_core::SeatState::Reserved => bump(Counter::Reserved, 1),
                    evently_core::SeatState::Held {
                        hold_id,
                        hold_expires_at,
                        ..
                    } if hold_expires_at > now.timestamp() => {
                        let e = live.entry(hold_id).or_insert((0, hold_expires_at));
                        e.0 += 1;
                    }
                    _ => {}
                }
            }
        }
        // Bookings: every one confirmed counts as a sale, the cancelled ones
        // as cancellations with their refunds.
        let bookings = self.event_bookings(&event.id).await?;
        for b in &bookings {
            bump(Counter::Bookings, 1);
            bump(Counter::SalesCents, b.total_price.cents());
            bump(Counter::CheckedIn, b.checked_in.len() as i64);
            if b.status == evently_core::BookingStatus::Cancelled {
                bump(Counter::Cancellations, 1);
                bump(
                    Counter::RefundsCents,
                    b.refund_amount.unwrap_or_default().cents(),
                );
            }
        }
        // The waitlist: entries waiting, and the one offer each entry got.
        for entry in self.event_entries(&event.id).await? {
            if entry.status == evently_core::EntryStatus::Waiting {
                bump(Counter::WaitlistWaiting, 1);
            }
            let Some(token) = &entry.claim_token else {
                continue;
            };
            let Some(offer) = self.get_offer(token).await? else {
                continue;
            };
            bump(Counter::OffersMade, 1);
            match offer.status {
                evently_core::OfferStatus::Taken => bump(Counter::OffersTaken, 1),
                evently_core::OfferStatus::Expired => bump(Counter::OffersExpired, 1),
                evently_core::OfferStatus::Withdrawn => bump(Counter::OffersWithdrawn, 1),
                evently_core::OfferStatus::Open => {}
            }
        }
        Ok((after, live))
    }

    /// Rebuilds an event's analytics from its items, for when the stream
    /// consumer lost records (their retries exhausted): counters from the
    /// seats, bookings, waitlist entries and offers as they are now, and
    /// the live-hold markers from the seats held right now. Run it while
    /// the event is quiet: changes the stream has not yet delivered would
    /// be counted twice (once here, once when they arrive).
    pub async fn recount_analytics(
        &self,
        event: &Event,
        now: DateTime<Utc>,
    ) -> Result<Recount, StoreError> {
        let (pk, _) = keys::event(&event.id);
        let before = match self
            .get_item((pk.clone(), keys::ANALYTICS_SK.to_owned()))
            .await?
        {
            Some(item) => counters_of(&item)?.counts,
            None => BTreeMap::new(),
        };
        let (after, live) = self.count_analytics(event, now).await?;
        // Held-seat buckets: exactly the seats of the holds live now.
        let mut want: BTreeMap<i64, i64> = BTreeMap::new();
        for (seats, expires_at) in live.values() {
            *want.entry(held_bucket(*expires_at)).or_default() += seats;
        }
        let buckets_query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK > :now")
            .expression_attribute_values(":pk", s(keys::event_live_holds(&event.id)))
            .expression_attribute_values(":now", s(format!("{:012}", now.timestamp())))
            .consistent_read(true);
        let mut have: BTreeMap<i64, i64> = BTreeMap::new();
        for item in self.query_all(buckets_query).await? {
            let bucket = attr_s(&item, keys::SK)?.parse().unwrap_or(0);
            have.insert(bucket, attr_n(&item, "seats").unwrap_or(0));
        }
        let (mut markers_added, mut markers_removed) = (0, 0);
        let buckets: std::collections::BTreeSet<i64> =
            want.keys().chain(have.keys()).copied().collect();
        for bucket in buckets {
            let (wanted, had) = (
                want.get(&bucket).copied().unwrap_or(0),
                have.get(&bucket).copied().unwrap_or(0),
            );
            if wanted == had {
                continue;
            }
            let update = held_update(&self.table, &event.id, bucket, wanted - had)?;
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(update.key))
                .set_update_expression(Some(update.update_expression))
                .set_expression_attribute_names(update.expression_attribute_names)
                .set_expression_attribute_values(update.expression_attribute_values)
                .send()
                .await?;
            if wanted == 0 {
                markers_removed += 1;
            } else {
                markers_added += 1;
            }
        }
        // The counters, as absolute values.
        let expr = Counter::ALL
            .iter()
            .map(|c| format!("#{0} = :{0}", c.attribute()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(keys::ANALYTICS_SK))
            .update_expression(format!("SET {expr}"))
            .condition_expression("attribute_exists(PK)");
        for c in Counter::ALL {
            update = update
                .expression_attribute_names(format!("#{}", c.attribute()), c.attribute())
                .expression_attribute_values(
                    format!(":{}", c.attribute()),
                    n(after.get(&c).copied().unwrap_or(0)),
                );
        }
        update.send().await?;
        let sales_hours_rewritten = self.rebuild_sales_hours(event).await?;
        Ok(Recount {
            before,
            after,
            markers_added,
            markers_removed,
            sales_hours_rewritten,
        })
    }

    /// Sets an event's hourly sales buckets to what its bookings say
    /// (`sales_from`): a wrong bucket rewritten, a missing one written, one
    /// no booking accounts for deleted. Returns how many changed.
    async fn rebuild_sales_hours(&self, event: &Event) -> Result<usize, StoreError> {
        let want = sales_from(&self.event_bookings(&event.id).await?);
        let have: BTreeMap<i64, BTreeMap<Counter, i64>> = self
            .sales_by_hour(&event.id)
            .await?
            .into_iter()
            .map(|h| (h.hour, h.counts))
            .collect();
        let value = |m: Option<&BTreeMap<Counter, i64>>, c: &Counter| {
            m.and_then(|m| m.get(c)).copied().unwrap_or(0)
        };
        let hours: std::collections::BTreeSet<i64> =
            want.keys().chain(have.keys()).copied().collect();
        let mut changed = 0;
        for hour in hours {
            let (w, h) = (want.get(&hour), have.get(&hour));
            if SALES_COUNTERS.iter().all(|c| value(w, c) == value(h, c)) {
                continue;
            }
            changed += 1;
            let (pk, sk) = (keys::event_sales(&event.id), format!("{hour:012}"));
            if SALES_COUNTERS.iter().all(|c| value(w, c) == 0) {
                self.delete_item((pk, sk)).await?;
                continue;
            }
            let mut put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item(keys::PK, s(pk))
                .item(keys::SK, s(sk))
                .item("entity", s("sales_hour"))
                .item("hour", n(hour));
            for c in SALES_COUNTERS {
                put = put.item(c.attribute(), n(value(w, &c)));
            }
            put.send().await?;
        }
        Ok(changed)
    }
}
