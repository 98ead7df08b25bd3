//! Key formats of the single table. docs/data-model.md is the prose twin of
//! this file; change both together.

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const GSI2: &str = "GSI2";
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";
/// Epoch seconds after which DynamoDB may delete the item (holds,
/// idempotency records). Correctness never waits for it.
pub const TTL: &str = "ttl";

pub fn user(id: &str) -> (String, String) {
    (format!("USER#{id}"), "PROFILE".into())
}

pub fn email(email: &str) -> (String, String) {
    (format!("EMAIL#{email}"), "EMAIL".into())
}

/// A password reset link's record, keyed by the SHA-256 of its token (the
/// token itself is only ever in the email).
pub fn password_reset(token_hash: &str) -> (String, String) {
    (format!("RESET#{token_hash}"), "RESET".into())
}

pub fn venue(id: &str) -> (String, String) {
    (format!("VENUE#{id}"), "VENUE".into())
}

pub fn owner_venues(owner: &str) -> String {
    format!("OWNER#{owner}#VENUES")
}

pub fn event(id: &str) -> (String, String) {
    (format!("EVENT#{id}"), "EVENT".into())
}

pub fn owner_events(owner: &str) -> String {
    format!("OWNER#{owner}#EVENTS")
}

/// How far a draft's seats are written, per section and price.
pub fn seating_progress(event_id: &str) -> (String, String) {
    (format!("EVENT#{event_id}"), "SEATING".into())
}

/// The analytics item of an event (PK `EVENT#<id>`).
pub const ANALYTICS_SK: &str = "ANALYTICS";

/// GSI1 partition of every event's analytics item (the admin overview).
pub const ALL_ANALYTICS: &str = "ANALYTICS";

/// GSI2 partition of an organizer's analytics items (their overview).
pub fn owner_analytics(owner: &str) -> String {
    format!("OWNER#{owner}#ANALYTICS")
}

/// Markers of an event's live holds, sorted by expiry.
pub fn event_live_holds(event_id: &str) -> String {
    format!("EVENT#{event_id}#HELD")
}

/// An event's sales per hour (sort key: the hour's start, epoch seconds,
/// 12 digits), kept by the analytics stream consumer.
pub fn event_sales(event_id: &str) -> String {
    format!("EVENT#{event_id}#SALES")
}

/// The marker that a stream record's analytics effects were applied.
pub fn applied_record(record_id: &str) -> String {
    format!("APPLIED#{record_id}")
}

/// GSI1 partition holding every published event, sorted by start time.
pub const CATALOG: &str = "CATALOG";

/// Seats are partitioned per row of an event section: a hold names seats
/// of one section (usually of one row), and an on-sale's writes spread over
/// a stadium's hundreds of rows instead of piling onto one section's
/// partition (docs/capacity.md: ~6 write units per hold attempt, 1,000 a
/// partition). What needs a whole section queries its rows.
pub fn seat_row(event_id: &str, seat: &evently_core::SeatId) -> String {
    section_row(event_id, &seat.section, seat.row)
}

pub fn section_row(event_id: &str, section_id: &str, row: u32) -> String {
    format!("EVENT#{event_id}#SECTION#{section_id}#ROW#{row:03}")
}

/// A section's seat map (see seat_maps.rs): its own partition, one item
/// per row, so the stream's updates spread over sections and a map is read
/// with one Query per section.
pub fn seat_map_section(event_id: &str, section_id: &str) -> String {
    format!("EVENT#{event_id}#MAP#{section_id}")
}

pub fn seat_map_row(event_id: &str, section_id: &str, row: u32) -> (String, String) {
    (
        seat_map_section(event_id, section_id),
        format!("ROW#{row:03}"),
    )
}

/// Shards of an event's sale gate: every hold's transaction checks one
/// (chosen by the hold's id), so the check that the event is still on sale
/// spreads over this many items instead of all landing on the event item.
/// At 10,000 holds/s: ~160 checks per second per gate, ~310 write units
/// (a transaction's condition check is billed as a transactional write),
/// a third of a partition's 1,000 — with room for an uneven spread. The
/// cancellation writes them all in one transaction (65 items of 100).
pub const SALE_GATE_SHARDS: u32 = 64;

/// One shard of the sale gate: absent while the event is on sale, written
/// (`cancelled_at`) for every shard in the cancellation's own transaction.
pub fn sale_gate(event_id: &str, shard: u32) -> (String, String) {
    (format!("EVENT#{event_id}#GATE#{shard:02}"), "GATE".into())
}

/// The gate shard a hold checks.
pub fn sale_gate_of(event_id: &str, hold_id: &str) -> (String, String) {
    let shard = hold_id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % SALE_GATE_SHARDS;
    sale_gate(event_id, shard)
}

pub fn seat_sk(seat_id: &str) -> String {
    format!("SEAT#{seat_id}")
}

pub fn hold(id: &str) -> (String, String) {
    (format!("HOLD#{id}"), "HOLD".into())
}

/// A user's live holds for one event, to cap seats held per user.
pub fn hold_guard(user_id: &str, event_id: &str) -> (String, String) {
    (format!("USER#{user_id}"), format!("HOLDS#{event_id}"))
}

pub fn booking(id: &str) -> (String, String) {
    (format!("BOOKING#{id}"), "BOOKING".into())
}

pub fn user_bookings(user_id: &str) -> String {
    format!("USER#{user_id}#BOOKINGS")
}

/// A user who may check people in at an event's door (and read its
/// attendees).
pub fn event_staff(event_id: &str, user_id: &str) -> (String, String) {
    (format!("EVENT#{event_id}#STAFF"), format!("USER#{user_id}"))
}

pub fn event_bookings(event_id: &str) -> String {
    format!("EVENT#{event_id}#BOOKINGS")
}

/// Waitlist entries of an event, in FIFO order by sort key.
pub fn event_waitlist(event_id: &str) -> String {
    format!("EVENT#{event_id}#WAITLIST")
}

pub fn idempotency(scope: &str, key: &str) -> (String, String) {
    (format!("IDEMPOTENCY#{scope}#{key}"), "IDEMPOTENCY".into())
}

/// Entries sort by their ULID: first come, first served.
pub fn waitlist_entry_sk(entry_id: &str) -> String {
    format!("ENTRY#{entry_id}")
}

pub fn user_waitlist(user_id: &str) -> String {
    format!("USER#{user_id}#WAITLIST")
}

/// Written by the first waitlist join of an event and never removed: from
/// then on a customer's cancellation hands its seats to the waitlist
/// worker (which gives them back to the public if nobody matches) instead
/// of asking whether anyone waits (bookings.rs, `cancel_booking`).
pub fn waitlist_opened(event_id: &str) -> (String, String) {
    (format!("EVENT#{event_id}#WAITLISTED"), "OPENED".into())
}

/// The user's current entry for an event: one active entry at most.
pub fn waitlist_guard(user_id: &str, event_id: &str) -> (String, String) {
    (format!("USER#{user_id}"), format!("WAITLIST#{event_id}"))
}

/// Failed attempts of one subject (an account, an address) in the window
/// starting at `window_start` (epoch seconds).
pub fn throttle(subject: &str, window_start: i64) -> (String, String) {
    (
        format!("THROTTLE#{subject}"),
        format!("WINDOW#{window_start}"),
    )
}

/// A named lock (one sweep at a time).
pub fn lock(name: &str) -> (String, String) {
    (format!("LOCK#{name}"), "LOCK".into())
}

/// A refund still owed for a cancelled booking.
pub fn refund_due(booking_id: &str) -> (String, String) {
    (format!("REFUND#{booking_id}"), "REFUND".into())
}

/// An offer by its claim token (the token is the credential of the claim link).
pub fn offer(claim_token: &str) -> (String, String) {
    (format!("OFFER#{claim_token}"), "OFFER".into())
}

pub fn user_notifications(user_id: &str) -> String {
    format!("USER#{user_id}#NOTIFICATIONS")
}

pub fn notification(
    user_id: &str,
    created_at: chrono::DateTime<chrono::Utc>,
    id: &str,
) -> (String, String) {
    (
        user_notifications(user_id),
        format!("{}#{id}", evently_core::clock::rfc3339(created_at)),
    )
}

/// One shard of an event's waiting room: its tickets (`T#<order>`).
pub fn queue_shard(event_id: &str, shard: u32) -> String {
    format!("EVENT#{event_id}#QUEUE#{shard:02}")
}

pub fn queue_ticket_sk(order: &str) -> String {
    format!("T#{order}")
}

/// Where a ticket is: its shard's partition, its order key.
pub fn queue_ticket(event_id: &str, key: &evently_core::TicketKey) -> (String, String) {
    (
        queue_shard(event_id, key.shard),
        queue_ticket_sk(&key.order),
    )
}

/// A person's one ticket in an event's line (which ticket it is).
pub fn queue_place(event_id: &str, user_id: &str) -> (String, String) {
    (
        format!("EVENT#{event_id}#QUEUER#{user_id}"),
        "QUEUER".into(),
    )
}

/// The admitter's state of an event's line.
pub fn queue_state(event_id: &str) -> (String, String) {
    (format!("EVENT#{event_id}#QUEUE"), "STATE".into())
}

/// The partition of every event that has (or had) a waiting room, one item
/// per event: where the admitter finds its work.
pub const QUEUES: &str = "QUEUES";
