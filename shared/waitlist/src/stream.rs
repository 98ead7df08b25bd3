//! From table stream records to waitlist messages: every seat that becomes
//! `reserved` (from booked by a cancellation, from held when an offer ends)
//! is grouped with the seats released by the same write into one
//! `SeatsReleased` message.

use serde::Deserialize;
use serde_json::Value;

use crate::cancel::EventCancelled;
use crate::SeatsReleased;
use crate::{DeliverNotification, RefundOwed, SeatingRequested};

#[derive(Debug, Deserialize)]
struct SeatImage {
    entity: Option<String>,
    event_id: Option<String>,
    section_id: Option<String>,
    seat_id: Option<String>,
    status: Option<String>,
    released_from: Option<String>,
}

fn image(v: Option<&Value>) -> Option<SeatImage> {
    v.and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// Old and new images of one stream record, as plain JSON (see
/// `serde_dynamo::from_item`).
pub struct Change {
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// The messages these changes call for, in first-seen order, each with the
/// index of the first change that contributed to it.
pub fn released(changes: &[Change]) -> Vec<(usize, SeatsReleased)> {
    let mut groups: Vec<(usize, SeatsReleased)> = Vec::new();
    for (index, change) in changes.iter().enumerate() {
        let Some(new) = image(change.new.as_ref()) else {
            continue;
        };
        let old_status = image(change.old.as_ref()).and_then(|o| o.status);
        let became_reserved = new.entity.as_deref() == Some("seat")
            && new.status.as_deref() == Some("reserved")
            && old_status.as_deref() != Some("reserved");
        if !became_reserved {
            continue;
        }
        let (Some(event_id), Some(section_id), Some(seat)) =
            (new.event_id, new.section_id, new.seat_id)
        else {
            continue;
        };
        let Ok(seat) = seat.parse() else { continue };
        let from = new.released_from.unwrap_or_default();
        let existing = groups.iter_mut().find(|(_, m)| {
            m.event_id == event_id && m.section_id == section_id && m.released_from == from
        });
        match existing {
            Some((_, msg)) => msg.seat_ids.push(seat),
            None => groups.push((
                index,
                SeatsReleased {
                    event_id,
                    section_id,
                    seat_ids: vec![seat],
                    released_from: from,
                },
            )),
        }
    }
    groups
}

/// Event items that were cancelled, or whose cancellation was requested
/// again (`cancel_runs` went up): each asks for a run of the cancellation
/// job. Returned with the index of their record.
pub fn cancellations(changes: &[Change]) -> Vec<(usize, EventCancelled)> {
    let field = |v: Option<&Value>, name: &str| v.and_then(|v| v.get(name)).cloned();
    changes
        .iter()
        .enumerate()
        .filter_map(|(index, c)| {
            let new = c.new.as_ref()?;
            if new.get("entity")?.as_str()? != "event"
                || new.get("status")?.as_str()? != "cancelled"
            {
                return None;
            }
            let runs = field(Some(new), "cancel_runs");
            let was_cancelled = field(c.old.as_ref(), "status") == Some(Value::from("cancelled"));
            if was_cancelled && field(c.old.as_ref(), "cancel_runs") == runs {
                return None;
            }
            Some((
                index,
                EventCancelled {
                    event_cancelled: new.get("id")?.as_str()?.to_owned(),
                    run: runs.and_then(|r| r.as_u64()).unwrap_or(0) as u32,
                },
            ))
        })
        .collect()
}

/// Draft events whose seating job was asked for another run
/// (`seating_runs` went up while still `materialising`). The creation of
/// an event (runs 0) is not one: its request writes the seats first.
pub fn seatings(changes: &[Change]) -> Vec<(usize, SeatingRequested)> {
    let runs = |v: Option<&Value>| {
        v.and_then(|v| v.get("seating_runs"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    changes
        .iter()
        .enumerate()
        .filter_map(|(index, c)| {
            let new = c.new.as_ref()?;
            if new.get("entity")?.as_str()? != "event"
                || new.get("seating")?.as_str()? != "materialising"
                || runs(Some(new)) <= runs(c.old.as_ref())
            {
                return None;
            }
            Some((
                index,
                SeatingRequested {
                    event_seating: new.get("id")?.as_str()?.to_owned(),
                    run: runs(Some(new)) as u32,
                },
            ))
        })
        .collect()
}

/// The new images of items of `entity` that were inserted (not rewritten,
/// not removed), with the index of their record, mapped by `make`.
fn inserted<T>(
    changes: &[Change],
    entity: &str,
    make: impl Fn(&Value) -> Option<T>,
) -> Vec<(usize, T)> {
    changes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.old.is_none())
        .filter_map(|(index, c)| {
            let new = c.new.as_ref()?;
            (new.get("entity")?.as_str()? == entity)
                .then(|| make(new))
                .flatten()
                .map(|t| (index, t))
        })
        .collect()
}

/// Refunds recorded as owed (a cancellation's record, inserted; the
/// sweeper's rescheduling of one rewrites it and is not a new debt): each
/// asks the worker to pay it. Returned with the index of their record.
pub fn refunds(changes: &[Change]) -> Vec<(usize, RefundOwed)> {
    inserted(changes, "refund_due", |new| {
        Some(RefundOwed {
            refund_owed: new.get("booking_id")?.as_str()?.to_owned(),
        })
    })
}

/// Emails a request wrote for the worker to send (a booking's
/// confirmation or cancellation), when inserted. Returned with the index of
/// their record.
pub fn deliveries(changes: &[Change]) -> Vec<(usize, DeliverNotification)> {
    inserted(changes, "notification", |new| {
        let kind = new.get("kind")?.as_str()?;
        if !evently_core::offer::kind::FROM_STREAM.contains(&kind) {
            return None;
        }
        Some(DeliverNotification {
            deliver: new.get("id")?.as_str()?.to_owned(),
            user_id: new.get("user_id")?.as_str()?.to_owned(),
            created_at: new.get("created_at")?.as_str()?.parse().ok()?,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seat(id: &str, status: &str, from: &str) -> Value {
        json!({"entity": "seat", "event_id": "E", "section_id": "A", "seat_id": id, "status": status, "released_from": from})
    }

    #[test]
    fn seats_becoming_reserved_are_grouped_by_what_released_them() {
        let changes = vec![
            Change {
                old: Some(seat("A-1-1", "booked", "")),
                new: Some(seat("A-1-1", "reserved", "b1")),
            },
            Change {
                old: Some(seat("A-1-3", "held", "")),
                new: Some(seat("A-1-3", "reserved", "h9")),
            },
            Change {
                old: Some(seat("A-1-2", "booked", "")),
                new: Some(seat("A-1-2", "reserved", "b1")),
            },
            // not a release: already reserved, or not to reserved, or not a seat
            Change {
                old: Some(seat("A-1-4", "reserved", "b0")),
                new: Some(seat("A-1-4", "reserved", "b0")),
            },
            Change {
                old: Some(seat("A-1-5", "held", "")),
                new: Some(seat("A-1-5", "available", "")),
            },
            Change {
                old: None,
                new: Some(json!({"entity": "booking", "status": "reserved"})),
            },
            Change {
                old: Some(seat("A-1-6", "booked", "")),
                new: None,
            },
        ];
        let msgs: Vec<SeatsReleased> = released(&changes).into_iter().map(|(_, m)| m).collect();
        assert_eq!(
            released(&changes)
                .iter()
                .map(|(i, _)| *i)
                .collect::<Vec<_>>(),
            [0, 1]
        );
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].released_from, "b1");
        let ids: Vec<String> = msgs[0].seat_ids.iter().map(ToString::to_string).collect();
        assert_eq!(ids, ["A-1-1", "A-1-2"]);
        assert_eq!(msgs[1].released_from, "h9");
    }

    fn event(seating: &str, runs: u64) -> Value {
        json!({"entity": "event", "id": "E", "status": "draft", "seating": seating, "seating_runs": runs})
    }

    #[test]
    fn a_seating_run_is_asked_for_by_a_bump_while_materialising() {
        let change = |old: Option<Value>, new: Value| Change {
            old,
            new: Some(new),
        };
        let changes = vec![
            // created: the request writes first
            change(None, event("materialising", 0)),
            change(Some(event("materialising", 0)), event("materialising", 1)),
            // edited without a bump, finished, or an older copy written back
            change(Some(event("materialising", 1)), event("materialising", 1)),
            change(Some(event("materialising", 1)), event("ready", 2)),
            change(Some(event("materialising", 3)), event("materialising", 2)),
        ];
        let asked: Vec<(usize, u32)> = seatings(&changes)
            .into_iter()
            .map(|(i, m)| (i, m.run))
            .collect();
        assert_eq!(asked, [(1, 1)]);
    }

    #[test]
    fn a_refund_recorded_as_owed_asks_for_its_payment_once() {
        let owed = json!({"entity": "refund_due", "booking_id": "B1", "attempts": 0});
        let mut later = owed.clone();
        later["attempts"] = json!(1);
        let changes = vec![
            Change {
                old: None,
                new: Some(owed.clone()),
            },
            // The sweeper rescheduling it, and the record removed once paid.
            Change {
                old: Some(owed.clone()),
                new: Some(later),
            },
            Change {
                old: Some(owed),
                new: None,
            },
            Change {
                old: None,
                new: Some(json!({"entity": "booking", "booking_id": "B2"})),
            },
        ];
        assert_eq!(
            refunds(&changes),
            [(
                0,
                RefundOwed {
                    refund_owed: "B1".into()
                }
            )]
        );
    }

    #[test]
    fn a_bookings_email_asks_for_delivery_once_and_others_do_not() {
        let note = |kind: &str| {
            json!({"entity": "notification", "kind": kind, "id": format!("{kind}-B1"),
                   "user_id": "U1", "created_at": "2026-12-02T20:00:00Z", "status": "pending"})
        };
        let changes = vec![
            Change {
                old: None,
                new: Some(note("booking_confirmed")),
            },
            // Its rewrite after an attempt, and another kind of email.
            Change {
                old: Some(note("booking_confirmed")),
                new: Some(note("booking_confirmed")),
            },
            Change {
                old: None,
                new: Some(note("waitlist_offer")),
            },
            Change {
                old: None,
                new: Some(note("booking_cancelled")),
            },
        ];
        let got: Vec<(usize, String)> = deliveries(&changes)
            .into_iter()
            .map(|(i, d)| (i, d.deliver))
            .collect();
        assert_eq!(
            got,
            [
                (0, "booking_confirmed-B1".to_owned()),
                (3, "booking_cancelled-B1".to_owned())
            ]
        );
    }
}
