//! The door: checking tickets in, the event's door staff, and the
//! attendee list. A ticket's check-in is an entry in its booking's
//! `checked_in` map, set by one conditional update: exactly one of two
//! doors scanning the same ticket at once succeeds, and a booking
//! cancelled meanwhile is never let in.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};
use chrono::{DateTime, Utc};
use evently_core::{Booking, TicketRef, User};
use serde::{Deserialize, Serialize};

use crate::tx::{n, s};
use crate::{attr_s, keys, Cursor, Store, StoreError};

type Item = HashMap<String, AttributeValue>;

/// How a scan ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckIn {
    /// Let in now; the booking as it stands.
    Admitted(Booking),
    /// Scanned before, at the booking's `checked_in` entry.
    Again(Booking),
    /// The booking was cancelled: its tickets are void.
    Void(Booking),
    /// No such booking, or a ticket of another event (or a number past
    /// the booking's seats).
    NotHere,
}

/// An event's door staff member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    pub event_id: String,
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub added_at: DateTime<Utc>,
}

impl Store {
    /// Checks ticket `at` of `event_id` in at `now`: one conditional
    /// update of its booking (confirmed, of this event, that many seats,
    /// this ticket not in yet), which returns the booking either way.
    pub async fn check_in(
        &self,
        event_id: &str,
        at: &TicketRef,
        now: DateTime<Utc>,
    ) -> Result<CheckIn, StoreError> {
        let (pk, sk) = keys::booking(&at.booking_id);
        let number = at.number.to_string();
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET checked_in.#n = :now")
            .condition_expression(
                "attribute_exists(PK) AND event_id = :event AND #status = :confirmed \
                 AND size(seat_ids) >= :count AND attribute_not_exists(checked_in.#n)",
            )
            .expression_attribute_names("#n", &number)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now", s(evently_core::clock::rfc3339(now)))
            .expression_attribute_values(":event", s(event_id))
            .expression_attribute_values(":confirmed", s("confirmed"))
            .expression_attribute_values(":count", n(at.number))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            );
        let outcome = crate::retry::retrying("check_in", || {
            let update = update.clone();
            async move {
                match update.send().await {
                    Ok(out) => Ok((true, out.attributes)),
                    Err(e) => match e.as_service_error() {
                        Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                            Ok((false, c.item().cloned()))
                        }
                        _ => Err(StoreError::from(e)),
                    },
                }
            }
        })
        .await?;
        let booking: Booking = match outcome {
            (_, Some(item)) if !item.is_empty() => serde_dynamo::from_item(item)?,
            _ => return Ok(CheckIn::NotHere),
        };
        if outcome.0 {
            return Ok(CheckIn::Admitted(booking));
        }
        if booking.event_id != event_id || booking.seat_ids.len() < at.number as usize {
            return Ok(CheckIn::NotHere);
        }
        if booking.checked_in.contains_key(&number) {
            // Scanned before (a cancelled booking's ticket that was used
            // still says when).
            return Ok(CheckIn::Again(booking));
        }
        if booking.status == evently_core::BookingStatus::Cancelled {
            return Ok(CheckIn::Void(booking));
        }
        Err(StoreError::Corrupt(format!(
            "check-in of {} refused for no reason the booking shows",
            at.id()
        )))
    }

    /// Lets `user` check people in and read the attendees of `event_id`
    /// (adding someone twice changes nothing).
    pub async fn add_staff(&self, member: &StaffMember) -> Result<(), StoreError> {
        let (pk, sk) = keys::event_staff(&member.event_id, &member.user_id);
        let item = crate::entity_item(member, pk, sk, "event_staff")?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await?;
        Ok(())
    }

    /// False when they were not staff of the event.
    pub async fn remove_staff(&self, event_id: &str, user_id: &str) -> Result<bool, StoreError> {
        let (pk, sk) = keys::event_staff(event_id, user_id);
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .return_values(ReturnValue::AllOld)
            .send()
            .await?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    /// An event's door staff, in the order they were added.
    pub async fn event_staff(&self, event_id: &str) -> Result<Vec<StaffMember>, StoreError> {
        let (pk, _) = keys::event_staff(event_id, "");
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(pk));
        let mut staff: Vec<StaffMember> = self.query_as(query).await?;
        staff.sort_by(|a, b| (a.added_at, &a.user_id).cmp(&(b.added_at, &b.user_id)));
        Ok(staff)
    }

    pub async fn is_staff(&self, event_id: &str, user_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .get_item(keys::event_staff(event_id, user_id))
            .await?
            .is_some())
    }

    /// The account registered with `email`, if any.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let Some(claim) = self.get_item(keys::email(email)).await? else {
            return Ok(None);
        };
        self.get_user(attr_s(&claim, "user_id")?).await
    }

    /// One page (up to `limit`) of an event's bookings in the order they
    /// were made, and where the next page starts.
    pub async fn event_bookings_page(
        &self,
        event_id: &str,
        limit: i32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<Booking>, Option<Cursor>), StoreError> {
        let mut query = self
            .index_query(keys::GSI2, keys::event_bookings(event_id))
            .limit(limit);
        if let Some(c) = after {
            let (pk, sk) = keys::booking(&c.id);
            query = query.set_exclusive_start_key(Some(HashMap::from([
                (keys::GSI2PK.into(), s(keys::event_bookings(event_id))),
                (keys::GSI2SK.into(), s(&c.sk)),
                (keys::PK.into(), s(pk)),
                (keys::SK.into(), s(sk)),
            ])));
        }
        let out = query.send().await?;
        let items = out.items.unwrap_or_default();
        let next = match (&out.last_evaluated_key, items.last()) {
            (Some(_), Some(last)) => Some(Cursor {
                sk: attr_s(last, keys::GSI2SK)?.to_owned(),
                id: attr_s(last, "id")?.to_owned(),
            }),
            _ => None,
        };
        let bookings = items
            .into_iter()
            .map(serde_dynamo::from_item)
            .collect::<Result<Vec<Booking>, _>>()?;
        Ok((bookings, next))
    }

    /// The accounts of `ids` (at most 100), by id; unknown ids are left out.
    pub async fn users(&self, ids: &[String]) -> Result<HashMap<String, User>, StoreError> {
        let mut found = HashMap::new();
        let mut unique: Vec<&String> = ids.iter().collect();
        unique.sort();
        unique.dedup();
        for chunk in unique.chunks(100) {
            let mut keys_of: Vec<Item> = chunk
                .iter()
                .map(|id| {
                    let (pk, sk) = keys::user(id);
                    HashMap::from([(keys::PK.to_owned(), s(pk)), (keys::SK.to_owned(), s(sk))])
                })
                .collect();
            let mut attempt = 0u32;
            while !keys_of.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(keys_of.clone()))
                    .build()
                    .map_err(crate::tx::build_err)?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    let user: User = serde_dynamo::from_item(item)?;
                    found.insert(user.id.clone(), user);
                }
                keys_of = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if !keys_of.is_empty() {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt.min(6)))
                        .await;
                }
            }
        }
        Ok(found)
    }
}
